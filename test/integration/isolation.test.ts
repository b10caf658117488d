/**
 * `isolation: 'worker'`: the handlers bundled as deployed and run in worker threads behave, through the
 * gateway, as they do in-process: results, thrown errors, delivery, and a clean shutdown.
 */

import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signDevToken } from '../../local/dev-tokens.js';
import type { Gateway } from '../../local/gateway.js';
import { startTestGateway } from './support/gateway.js';
import { ofType, TestClient } from './support/ws-client.js';

let gateway: Gateway;
let clients: TestClient[] = [];

async function connect(sub: string): Promise<TestClient> {
  const client = await TestClient.open(gateway.url, gateway.issueToken(sub));
  clients.push(client);
  return client;
}

async function invokePublish(input: unknown) {
  const lambda = new LambdaClient({
    endpoint: gateway.httpUrl,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const response = await lambda.send(new InvokeCommand({ FunctionName: 'publish', Payload: JSON.stringify(input) }));
  return {
    functionError: response.FunctionError,
    payload: JSON.parse(Buffer.from(response.Payload ?? []).toString('utf8')) as Record<string, unknown>,
  };
}

beforeAll(async () => {
  gateway = await startTestGateway({ isolation: 'worker' });
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
});

afterAll(async () => {
  await gateway?.close();
});

describe('handlers isolated in worker threads', () => {
  it('runs one worker thread per handler', () => {
    expect(gateway.handlerThreads()).toHaveLength(5);
  });

  it('accepts a valid token', async () => {
    const client = await connect('alice');

    expect(gateway.connections().map((c) => c.principalId)).toContain('alice');
    await expect(client.request({ action: 'ping' })).resolves.toMatchObject({ type: 'pong' });
  });

  it("refuses a forged token with 401: the authorizer's Unauthorized error crosses the thread", async () => {
    const forged = signDevToken(generateSigningKey(), { sub: 'mallory' });

    const status = await TestClient.refusal(gateway.url, forged);

    expect(status).toBe(401);
  });

  it('delivers a room message between two clients', async () => {
    const [alice, bob] = [await connect('alice'), await connect('bob')];
    await alice.request({ action: 'join', room: 'public:isolated' });
    await bob.request({ action: 'join', room: 'public:isolated' });

    const ack = await alice.request({ action: 'send', room: 'public:isolated', data: 'hi', excludeSelf: true });

    expect(ack).toMatchObject({ type: 'ack', result: { recipients: 1, delivered: 1 } });
    await expect(bob.next(ofType('message'))).resolves.toMatchObject({ from: 'alice', data: 'hi' });
  });

  it('publishes through the Invoke endpoint', async () => {
    const dave = await connect('dave');

    const { functionError, payload } = await invokePublish({
      to: { users: ['dave'] },
      event: 'order.shipped',
      data: { id: 1 },
    });

    expect(functionError).toBeUndefined();
    expect(payload).toEqual({ recipients: 1, delivered: 1, gone: 0, failed: 0 });
    await expect(dave.next(ofType('notification'))).resolves.toMatchObject({ event: 'order.shipped' });
  });

  it("reports a thrown error with the handler's error name", async () => {
    const { functionError, payload } = await invokePublish({ to: { users: [] }, event: 'x' });

    expect(functionError).toBe('Unhandled');
    expect(payload).toMatchObject({ errorType: 'PublishValidationError', errorMessage: expect.any(String) });
  });
});

describe('closing an isolated gateway', () => {
  it('leaves no worker thread running', async () => {
    const other = await startTestGateway({ isolation: 'worker' });
    expect(other.handlerThreads().length).toBeGreaterThan(0);

    await other.close();

    expect(other.handlerThreads()).toEqual([]);
  });
});
