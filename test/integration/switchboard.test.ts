/**
 * The whole system on one machine: the real handlers behind the local gateway, a real DynamoDB API server
 * (dynalite or DynamoDB Local, per vitest project), real `ws` clients with dev tokens, and producers using
 * the AWS SDK's own clients.
 */

import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../lambdas/core/table.js';
import { generateSigningKey, signDevToken } from '../../local/dev-tokens.js';
import type { Gateway } from '../../local/gateway.js';
import { documentClient, eventually, startTestGateway } from './support/gateway.js';
import { isRecord, ofType, SUBPROTOCOL, TestClient } from './support/ws-client.js';

let gateway: Gateway;
let clients: TestClient[] = [];

async function connect(sub: string, claims?: Record<string, unknown>): Promise<TestClient> {
  const client = await TestClient.open(gateway.url, gateway.issueToken(sub, claims));
  clients.push(client);
  return client;
}

/** The connection id of the newest open connection of `sub`. */
function connectionIdOf(sub: string): string {
  const mine = gateway.connections().filter((c) => c.principalId === sub);
  const newest = mine.sort((a, b) => b.connectedAt - a.connectedAt)[0];
  if (!newest) throw new Error(`${sub} has no open connection`);
  return newest.connectionId;
}

async function connectionRecord(connectionId: string) {
  const { Item } = await documentClient(gateway).send(
    new GetCommand({ TableName: gateway.tableName, Key: keys.connection(connectionId), ConsistentRead: true }),
  );
  return Item;
}

async function roomMembers(room: string): Promise<string[]> {
  const { Items } = await documentClient(gateway).send(
    new QueryCommand({
      TableName: gateway.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.roomPartition(room) },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).map((item) => String(item.connectionId));
}

const lambda = () =>
  new LambdaClient({
    endpoint: gateway.httpUrl,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });

async function publish(input: unknown): Promise<Record<string, unknown>> {
  const response = await lambda().send(new InvokeCommand({ FunctionName: 'publish', Payload: JSON.stringify(input) }));
  const payload = JSON.parse(Buffer.from(response.Payload ?? []).toString('utf8'));
  if (response.FunctionError) throw new Error(`publish failed: ${JSON.stringify(payload)}`);
  return payload;
}

beforeAll(async () => {
  gateway = await startTestGateway();
});

afterEach(async () => {
  gateway.setLoseDisconnects(false);
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
});

afterAll(async () => {
  await gateway.close();
});

describe('connecting', () => {
  it('accepts a dev token and records the connection', async () => {
    // Act
    const client = await connect('alice');

    // Assess
    expect(client.ws.protocol).toBe(SUBPROTOCOL);
    await expect(connectionRecord(connectionIdOf('alice'))).resolves.toMatchObject({ userId: 'alice' });
  });

  it('accepts a browser from an allowed origin', async () => {
    const client = await TestClient.open(gateway.url, gateway.issueToken('alice'), {
      headers: { Origin: `http://localhost:${gateway.port}` },
    });
    clients.push(client);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('rejects an expired token with 401', async () => {
    const expired = signDevToken(gateway.signingKey, {
      sub: 'alice',
      now: Math.floor(Date.now() / 1000) - 7200,
      expiresInSeconds: 60,
    });
    expect(await TestClient.refusal(gateway.url, expired)).toBe(401);
  });

  it('rejects a token signed with another key with 401', async () => {
    const forged = signDevToken(generateSigningKey(), { sub: 'alice' });
    expect(await TestClient.refusal(gateway.url, forged)).toBe(401);
  });

  it('rejects a token for another audience with 401', async () => {
    const other = signDevToken(gateway.signingKey, { sub: 'alice', audience: 'someone-else' });
    expect(await TestClient.refusal(gateway.url, other)).toBe(401);
  });

  it('rejects a connection without a token with 401', async () => {
    expect(await TestClient.refusal(gateway.url, undefined)).toBe(401);
  });

  it('rejects a browser from another origin with 403', async () => {
    const status = await TestClient.refusal(gateway.url, gateway.issueToken('alice'), {
      headers: { Origin: 'https://evil.example' },
    });
    expect(status).toBe(403);
  });
});

describe('rooms', () => {
  it('delivers a room message to every member and to nobody else', async () => {
    // Arrange
    const [alice, bob, carol] = [await connect('alice'), await connect('bob'), await connect('carol')];
    await alice.request({ action: 'join', room: 'public:chat' });
    await bob.request({ action: 'join', room: 'public:chat' });

    // Act
    const ack = await alice.request({ action: 'send', room: 'public:chat', data: { text: 'hello' } });

    // Assess
    expect(ack).toMatchObject({ type: 'ack', result: { recipients: 2, delivered: 2 } });
    const expected = { type: 'message', room: 'public:chat', from: 'alice', data: { text: 'hello' } };
    await expect(bob.next(ofType('message'))).resolves.toMatchObject(expected);
    await expect(alice.next(ofType('message'))).resolves.toMatchObject(expected);
    expect(await carol.nothing(ofType('message'))).toBe(true);
  });

  it('leaves the sender out with excludeSelf', async () => {
    const [alice, bob] = [await connect('alice'), await connect('bob')];
    await alice.request({ action: 'join', room: 'public:quiet' });
    await bob.request({ action: 'join', room: 'public:quiet' });

    await alice.request({ action: 'send', room: 'public:quiet', data: 'psst', excludeSelf: true });

    await expect(bob.next(ofType('message'))).resolves.toMatchObject({ data: 'psst', from: 'alice' });
    expect(await alice.nothing(ofType('message'))).toBe(true);
  });

  it('stops delivering to a member who left', async () => {
    const [alice, bob] = [await connect('alice'), await connect('bob')];
    await alice.request({ action: 'join', room: 'public:door' });
    await bob.request({ action: 'join', room: 'public:door' });

    await expect(bob.request({ action: 'leave', room: 'public:door' })).resolves.toMatchObject({ type: 'ack' });
    await alice.request({ action: 'send', room: 'public:door', data: 'anyone?' });

    await expect(alice.next(ofType('message'))).resolves.toMatchObject({ data: 'anyone?' });
    expect(await bob.nothing(ofType('message'))).toBe(true);
  });

  it('keeps a room the token does not grant closed, and opens it with the rooms claim', async () => {
    const outsider = await connect('mallory');
    const member = await connect('trent', { rooms: ['team:a'] });

    await expect(outsider.request({ action: 'join', room: 'team:a' })).resolves.toMatchObject({
      type: 'error',
      code: 'FORBIDDEN',
    });
    await expect(member.request({ action: 'join', room: 'team:a' })).resolves.toMatchObject({ type: 'ack' });
  });
});

describe('publishing through the Lambda Invoke endpoint', () => {
  it('reaches both open connections of a user', async () => {
    // Arrange
    const [laptop, phone, other] = [await connect('dave'), await connect('dave'), await connect('erin')];

    // Act
    const report = await publish({ to: { users: ['dave'] }, event: 'order.shipped', data: { id: 1 } });

    // Assess
    expect(report).toEqual({ recipients: 2, delivered: 2, gone: 0, failed: 0 });
    const expected = { type: 'notification', event: 'order.shipped', data: { id: 1 } };
    await expect(laptop.next(ofType('notification'))).resolves.toMatchObject(expected);
    await expect(phone.next(ofType('notification'))).resolves.toMatchObject(expected);
    expect(await other.nothing(ofType('notification'))).toBe(true);
  });

  it('fails invalid input as a function error and sends nothing', async () => {
    const dave = await connect('dave');
    const response = await lambda().send(
      new InvokeCommand({ FunctionName: 'publish', Payload: JSON.stringify({ to: { users: [] }, event: 'x' }) }),
    );
    expect(response.FunctionError).toBe('Unhandled');
    expect(await dave.nothing(ofType('notification'))).toBe(true);
  });
});

describe('a client that vanishes', () => {
  it('with its $disconnect lost, is pruned by the next send that gets 410', async () => {
    // Arrange: ghost joins a room, then its socket dies without a close frame and $disconnect is lost.
    const ghost = await connect('ghost');
    const ghostId = connectionIdOf('ghost');
    await ghost.request({ action: 'join', room: 'public:haunted' });
    const sender = await connect('alice');
    await sender.request({ action: 'join', room: 'public:haunted' });
    gateway.setLoseDisconnects((id) => id === ghostId);
    ghost.ws.terminate();
    await ghost.closed;
    await eventually(
      async () => gateway.connections().some((c) => c.connectionId === ghostId),
      (open) => !open,
    );
    await expect(connectionRecord(ghostId)).resolves.toBeDefined();
    expect(await roomMembers('public:haunted')).toContain(ghostId);

    // Act
    const ack = await sender.request({ action: 'send', room: 'public:haunted', data: 'boo' });

    // Assess
    expect(ack).toMatchObject({ type: 'ack', result: { recipients: 2, delivered: 1 } });
    await eventually(
      () => connectionRecord(ghostId),
      (item) => item === undefined,
    );
    await eventually(
      () => roomMembers('public:haunted'),
      (members) => !members.includes(ghostId),
    );
  });

  it('with $disconnect delivered, is removed when it closes', async () => {
    const leaver = await connect('leaver');
    const id = connectionIdOf('leaver');
    await leaver.request({ action: 'join', room: 'public:exit' });

    await leaver.close();

    await eventually(
      () => connectionRecord(id),
      (item) => item === undefined,
    );
    await eventually(
      () => roomMembers('public:exit'),
      (members) => !members.includes(id),
    );
  });
});

describe('bad input', () => {
  it.each([
    ['text that is not JSON', 'hello?', 'INVALID_JSON'],
    ['an unknown action', { action: 'dance' }, 'UNKNOWN_ACTION'],
    ['a bad room name', { action: 'join', room: 'no spaces allowed' }, 'INVALID_ROOM'],
    ['a send to a room not joined', { action: 'send', room: 'public:elsewhere', data: 1 }, 'NOT_IN_ROOM'],
    ['a frame with extra fields', { action: 'ping', sneaky: true }, 'INVALID_MESSAGE'],
  ])('answers %s with an error code and keeps the connection open', async (_case, frame, code) => {
    const client = await connect('alice');

    client.send(frame);
    const error = await client.next(ofType('error'));

    expect(error).toMatchObject({ type: 'error', code });
    expect(JSON.stringify(error)).not.toMatch(/at .*\.ts|Error:/);
    await expect(client.request({ action: 'ping' })).resolves.toMatchObject({ type: 'pong' });
  });

  it('closes with 1009 on a message over 128 KB, and the server and other clients carry on', async () => {
    // Arrange
    const [big, bystander] = [await connect('big'), await connect('bystander')];
    await bystander.request({ action: 'join', room: 'public:calm' });

    // Act: 129 KB in 32 KB frames, within the frame limit but over the message limit.
    const chunk = 'x'.repeat(32 * 1024);
    for (let i = 0; i < 4; i++) big.ws.send(chunk, { fin: false });
    big.ws.send('x'.repeat(1024), { fin: true });

    // Assess
    await expect(big.closed).resolves.toMatchObject({ code: 1009 });
    await expect(bystander.request({ action: 'send', room: 'public:calm', data: 'still fine' })).resolves.toMatchObject(
      { type: 'ack' },
    );
    const newcomer = await connect('newcomer');
    await expect(newcomer.request({ action: 'ping' })).resolves.toMatchObject({ type: 'pong' });
  });

  it('closes with 1009 on one frame over 32 KB', async () => {
    const client = await connect('big');
    client.send({ action: 'send', room: 'public:x', data: 'y'.repeat(40 * 1024) });
    await expect(client.closed).resolves.toMatchObject({ code: 1009 });
  });

  it('survives a flood from one client without breaking the others', async () => {
    // Arrange
    const [flooder, alice, bob] = [await connect('flooder'), await connect('alice'), await connect('bob')];
    await alice.request({ action: 'join', room: 'public:busy' });
    await bob.request({ action: 'join', room: 'public:busy' });

    // Act
    for (let i = 0; i < 500; i++) flooder.send({ action: 'ping', id: i });
    const ack = await alice.request({ action: 'send', room: 'public:busy', data: 'during the flood' }, 15_000);

    // Assess
    expect(ack).toMatchObject({ type: 'ack', result: { delivered: 2 } });
    await expect(bob.next(ofType('message'), 15_000)).resolves.toMatchObject({ data: 'during the flood' });
    await expect(flooder.next((f) => isRecord(f) && f.type === 'pong' && f.id === 499, 20_000)).resolves.toBeDefined();
    expect(flooder.ws.readyState).toBe(flooder.ws.OPEN);
  });
});

describe('the management API', () => {
  const management = () =>
    new ApiGatewayManagementApiClient({
      endpoint: gateway.callbackUrl,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });

  it('describes a connection with GET', async () => {
    const before = Date.now();
    await connect('alice');

    const described = await management().send(new GetConnectionCommand({ ConnectionId: connectionIdOf('alice') }));

    expect(described.ConnectedAt?.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(described.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: '' });
  });

  it('closes a connection with DELETE, and $disconnect removes its record', async () => {
    const client = await connect('alice');
    const id = connectionIdOf('alice');

    await management().send(new DeleteConnectionCommand({ ConnectionId: id }));

    await expect(client.closed).resolves.toBeDefined();
    await eventually(
      () => connectionRecord(id),
      (item) => item === undefined,
    );
  });
});

describe('the idle timeout', () => {
  it('closes a quiet connection with 1001 and runs $disconnect', async () => {
    // Arrange: a second gateway on the same DynamoDB server, with a short idle timeout.
    const quick = await startTestGateway({ limits: { idleTimeoutMs: 400 } });
    try {
      const client = await TestClient.open(quick.url, quick.issueToken('sleepy'));
      const id = quick.connections()[0]?.connectionId as string;

      // Act / Assess
      await expect(client.closed).resolves.toEqual({ code: 1001, reason: 'Going away' });
      const table = documentClient(quick);
      await eventually(
        async () =>
          (
            await table.send(
              new GetCommand({ TableName: quick.tableName, Key: keys.connection(id), ConsistentRead: true }),
            )
          ).Item,
        (item) => item === undefined,
      );
    } finally {
      await quick.close();
    }
  });
});
