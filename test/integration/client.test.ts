/**
 * The client SDK in Node (over `ws`) against the local gateway running the real handlers: the wire protocol,
 * a server-side disconnect through the management API, and a refused handshake.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardClient, type SwitchboardClientOptions } from '../../client/src/index.js';
import type { MessageFrame } from '../../lambdas/core/protocol.js';
import type { Gateway } from '../../local/gateway.js';
import { eventually, startTestGateway } from './support/gateway.js';

let gateway: Gateway;
const clients: SwitchboardClient[] = [];

beforeAll(async () => {
  gateway = await startTestGateway();
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await gateway?.close();
});

function sdkClient(user: string, options: Partial<SwitchboardClientOptions> = {}): SwitchboardClient {
  const client = new SwitchboardClient({ url: gateway.url, token: () => gateway.issueToken(user), ...options });
  clients.push(client);
  return client;
}

function nextMessage(client: SwitchboardClient, accept: (frame: MessageFrame) => boolean): Promise<MessageFrame> {
  return new Promise((resolve) => {
    const off = client.on('message', (frame) => {
      if (!accept(frame)) return;
      off();
      resolve(frame);
    });
  });
}

describe('client SDK against the local gateway', () => {
  it('joins a room and exchanges messages with another client', async () => {
    // Arrange
    const alice = sdkClient('alice-1');
    const bob = sdkClient('bob-1');
    await Promise.all([alice.connect(), bob.connect()]);
    await Promise.all([alice.join('public:smoke'), bob.join('public:smoke')]);
    const received = nextMessage(bob, (frame) => frame.room === 'public:smoke');

    // Act
    await alice.send('public:smoke', { text: 'hello bob' });

    // Assert
    expect(await received).toMatchObject({ room: 'public:smoke', from: 'alice-1', data: { text: 'hello bob' } });
    await expect(alice.request('ping')).resolves.toMatchObject({ type: 'pong' });
  });

  it('reconnects after a management-API DELETE, rejoins, and delivers what it queued while offline', async () => {
    // Arrange
    const alice = sdkClient('alice-2', { reconnect: { initialDelay: 100 } });
    const bob = sdkClient('bob-2');
    await Promise.all([alice.connect(), bob.connect()]);
    await Promise.all([alice.join('public:drop'), bob.join('public:drop')]);
    const { connectionId } = await eventually(
      async () => gateway.connections().find((c) => c.principalId === 'alice-2'),
      (found) => found !== undefined,
    ).then((found) => found as { connectionId: string });
    const queued: Promise<unknown>[] = [];
    alice.on('state', ({ state }) => {
      // Sent from the listener, synchronously, so it is certain to be made while the client is offline.
      if (state === 'reconnecting' && queued.length === 0) queued.push(alice.send('public:drop', 'sent while offline'));
    });
    const received = nextMessage(bob, (frame) => frame.data === 'sent while offline');
    const management = new ApiGatewayManagementApiClient({ endpoint: gateway.callbackUrl, maxAttempts: 1 });

    // Act
    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));

    // Assert
    expect(await received).toMatchObject({ room: 'public:drop', from: 'alice-2' });
    expect(queued).toHaveLength(1);
    await expect(queued[0]).resolves.toBeDefined();
    expect(alice.state).toBe('open');
    expect(alice.joinedRooms).toEqual(['public:drop']);
    const current = gateway.connections().filter((c) => c.principalId === 'alice-2');
    expect(current.map((c) => c.connectionId)).not.toContain(connectionId);
  });

  it('stops with UNAUTHORIZED when the authorizer rejects the token, without retrying', async () => {
    // Arrange
    let tokensIssued = 0;
    const client = sdkClient('mallory', {
      token: () => {
        tokensIssued += 1;
        return `${gateway.issueToken('mallory')}tampered`;
      },
      reconnect: { initialDelay: 10 },
    });
    const errors: string[] = [];
    client.on('error', (error) => errors.push(error.code));

    // Act
    const outcome = await client.connect().then(
      () => 'connected',
      (error: { code: string }) => error.code,
    );

    // Assert
    expect(outcome).toBe('UNAUTHORIZED');
    expect(errors).toEqual(['UNAUTHORIZED']);
    expect(tokensIssued).toBe(1);
    expect(client.state).toBe('closed');
  });
});
