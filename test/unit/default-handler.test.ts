import 'aws-sdk-client-mock-vitest/extend';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { HandlerSettings } from '../../lambdas/core/config.js';
import type { WebSocketEvent } from '../../lambdas/core/events.js';
import { MAX_DATA_BYTES, ServerFrame } from '../../lambdas/core/protocol.js';
import { createHandler, type DefaultDeps } from '../../lambdas/default/index.js';
import { useManagementApiStub } from '../support/management-api.js';
import { MemoryConnectionStore } from '../support/memory-store.js';
import { RecordingSender, serviceError } from '../support/senders.js';

const NOW = 1_735_689_600_000;
const settings = HandlerSettings.parse({ tableName: 'connections', fanoutConcurrency: 4 });

function frameEvent(
  body: unknown,
  options: { connectionId?: string; sub?: string; claims?: object } = {},
): WebSocketEvent {
  const sub = options.sub ?? 'alice';
  return {
    requestContext: {
      connectionId: options.connectionId ?? 'c-alice',
      routeKey: '$default',
      eventType: 'MESSAGE',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      stage: 'dev',
      requestId: 'req-1',
      authorizer: { principalId: sub, sub, claims: JSON.stringify(options.claims ?? {}) },
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

function setup(overrides: Partial<DefaultDeps> = {}) {
  const store = new MemoryConnectionStore();
  const sender = new RecordingSender();
  const handle = createHandler(settings, {
    store,
    sender,
    now: () => NOW,
    newId: () => 'msg-1',
    retry: { sleep: () => Promise.resolve() },
    ...overrides,
  });
  const send = async (body: unknown, options?: Parameters<typeof frameEvent>[1]) => {
    const result = await handle(frameEvent(body, options));
    expect(result.statusCode).toBe(200);
    return result.body === undefined ? undefined : ServerFrame.parse(JSON.parse(result.body));
  };
  return { store, sender, send };
}

describe('$default: bad input', () => {
  it('answers INVALID_JSON with id null to a frame that is not JSON', async () => {
    const { send } = setup();

    expect(await send('{"action": "join", ')).toMatchObject({ type: 'error', id: null, code: 'INVALID_JSON' });
  });

  it('answers UNKNOWN_ACTION to an action this protocol lacks, echoing a valid id', async () => {
    const { send } = setup();

    expect(await send({ action: 'subscribe', room: 'public:a', id: 7 })).toMatchObject({
      type: 'error',
      id: 7,
      code: 'UNKNOWN_ACTION',
    });
  });

  it('answers UNKNOWN_ACTION to a frame without action', async () => {
    const { send } = setup();

    expect(await send({ room: 'public:a' })).toMatchObject({ id: null, code: 'UNKNOWN_ACTION' });
  });

  it('answers INVALID_MESSAGE to a frame that is JSON but not an object', async () => {
    const { send } = setup();

    expect(await send('[1,2]')).toMatchObject({ id: null, code: 'INVALID_MESSAGE' });
  });

  it('answers INVALID_MESSAGE to wrong types, naming the field in plain words', async () => {
    const { send } = setup();

    const reply = await send({ action: 'send', room: 'public:a', data: 1, excludeSelf: 'yes', id: 'r1' });

    expect(reply).toMatchObject({ type: 'error', id: 'r1', code: 'INVALID_MESSAGE' });
    expect(reply).toHaveProperty('message', expect.stringContaining('excludeSelf'));
  });

  it('answers INVALID_MESSAGE to extra fields', async () => {
    const { send } = setup();

    const reply = await send({ action: 'join', room: 'public:a', id: 'r1', admin: true });

    expect(reply).toMatchObject({ id: 'r1', code: 'INVALID_MESSAGE' });
    expect(reply).toHaveProperty('message', expect.stringContaining('"admin"'));
  });

  it('answers INVALID_ROOM when only the room name is bad', async () => {
    const { send } = setup();

    expect(await send({ action: 'join', room: 'no spaces allowed', id: 'r1' })).toMatchObject({
      id: 'r1',
      code: 'INVALID_ROOM',
    });
    expect(await send({ action: 'join', room: 'x'.repeat(129), id: 'r2' })).toMatchObject({ code: 'INVALID_ROOM' });
  });

  it('answers PAYLOAD_TOO_LARGE to data over the limit', async () => {
    const { send, sender } = setup();

    const reply = await send({ action: 'send', room: 'public:a', data: 'x'.repeat(MAX_DATA_BYTES), id: 'big' });

    expect(reply).toMatchObject({ id: 'big', code: 'PAYLOAD_TOO_LARGE' });
    expect(sender.posts).toHaveLength(0);
  });

  it('answers with id null when the id itself is invalid', async () => {
    const { send } = setup();

    expect(await send({ action: 'ping', id: { nested: true } })).toMatchObject({ id: null, code: 'INVALID_MESSAGE' });
  });

  it('still answers an error to a request without id', async () => {
    const { send } = setup();

    expect(await send({ action: 'join', room: 'team:secret' })).toMatchObject({ id: null, code: 'FORBIDDEN' });
  });

  it('decodes a base64 frame', async () => {
    const { store } = setup();
    const handle = createHandler(settings, { store, sender: new RecordingSender() });
    const event = frameEvent('');
    event.body = Buffer.from(JSON.stringify({ action: 'ping', id: 1 })).toString('base64');
    event.isBase64Encoded = true;

    const result = await handle(event);

    expect(JSON.parse(result.body ?? '')).toMatchObject({ type: 'pong', id: 1 });
  });
});

describe('$default: join and leave', () => {
  it('joins a room the policy allows and acks with the room', async () => {
    const { send, store } = setup();

    const reply = await send({ action: 'join', room: 'public:lobby', id: 'j1' });

    expect(reply).toEqual({ type: 'ack', id: 'j1', result: { room: 'public:lobby' } });
    expect(await store.isMember('public:lobby', 'c-alice')).toBe(true);
  });

  it('joins a room granted by the rooms claim', async () => {
    const { send, store } = setup();

    await send({ action: 'join', room: 'team:red', id: 'j1' }, { claims: { rooms: ['team:*'] } });

    expect(await store.isMember('team:red', 'c-alice')).toBe(true);
  });

  it('refuses a room the policy does not allow with FORBIDDEN, and joins nothing', async () => {
    const { send, store } = setup();

    const reply = await send({ action: 'join', room: 'user:bob', id: 'j1' });

    expect(reply).toMatchObject({ type: 'error', id: 'j1', code: 'FORBIDDEN' });
    expect(await store.isMember('user:bob', 'c-alice')).toBe(false);
  });

  it('sends no reply to a successful request without id', async () => {
    const { send, store } = setup();

    expect(await send({ action: 'join', room: 'public:lobby' })).toBeUndefined();
    expect(await store.isMember('public:lobby', 'c-alice')).toBe(true);
  });

  it('leaves a room and acks with the room', async () => {
    const { send, store } = setup();
    await send({ action: 'join', room: 'public:lobby' });

    const reply = await send({ action: 'leave', room: 'public:lobby', id: 'l1' });

    expect(reply).toEqual({ type: 'ack', id: 'l1', result: { room: 'public:lobby' } });
    expect(await store.isMember('public:lobby', 'c-alice')).toBe(false);
  });
});

describe('$default: send', () => {
  it('fans a message out to the room with the verified sender and acks the counts', async () => {
    // Prepare
    const { send, sender, store } = setup();
    await store.join('c-alice', 'alice', 'public:lobby');
    await store.join('c-bob', 'bob', 'public:lobby');
    await store.join('c-carol', 'carol', 'public:other');

    // Act
    const reply = await send({ action: 'send', room: 'public:lobby', data: { text: 'hi' }, id: 's1' });

    // Assess
    expect(reply).toEqual({ type: 'ack', id: 's1', result: { id: 'msg-1', recipients: 2, delivered: 2 } });
    expect(sender.recipients()).toEqual(['c-alice', 'c-bob']);
    expect(JSON.parse(sender.posts[0]?.payload ?? '')).toEqual({
      type: 'message',
      room: 'public:lobby',
      from: 'alice',
      data: { text: 'hi' },
      ts: NOW,
      id: 'msg-1',
    });
  });

  it('leaves the sender out when excludeSelf is set', async () => {
    const { send, sender, store } = setup();
    await store.join('c-alice', 'alice', 'public:lobby');
    await store.join('c-bob', 'bob', 'public:lobby');

    const reply = await send({ action: 'send', room: 'public:lobby', data: 1, excludeSelf: true, id: 's1' });

    expect(sender.recipients()).toEqual(['c-bob']);
    expect(reply).toMatchObject({ result: { recipients: 1, delivered: 1 } });
  });

  it('refuses to send to a room not joined with NOT_IN_ROOM', async () => {
    const { send, sender, store } = setup();
    await store.join('c-bob', 'bob', 'public:lobby');

    const reply = await send({ action: 'send', room: 'public:lobby', data: 1, id: 's1' });

    expect(reply).toMatchObject({ type: 'error', id: 's1', code: 'NOT_IN_ROOM' });
    expect(sender.posts).toHaveLength(0);
  });

  it('refuses to send to a room the policy forbids with FORBIDDEN', async () => {
    const { send, sender, store } = setup();
    await store.join('c-alice', 'alice', 'team:red');

    const reply = await send({ action: 'send', room: 'team:red', data: 1, id: 's1' });

    expect(reply).toMatchObject({ code: 'FORBIDDEN' });
    expect(sender.posts).toHaveLength(0);
  });

  it('acks delivered below recipients when a post fails', async () => {
    const { send, sender, store } = setup();
    await store.join('c-alice', 'alice', 'public:lobby');
    await store.join('c-bob', 'bob', 'public:lobby');
    sender.failNext('c-bob', serviceError('ForbiddenException', 403));

    const reply = await send({ action: 'send', room: 'public:lobby', data: 1, id: 's1' });

    expect(reply).toMatchObject({ result: { recipients: 2, delivered: 1 } });
  });
});

describe('$default: ping, resume and failures', () => {
  it('answers a ping with a pong carrying the id', async () => {
    const { send } = setup();

    expect(await send({ action: 'ping', id: 42 })).toEqual({ type: 'pong', id: 42, ts: NOW });
  });

  it('answers a ping without id with a pong with id null', async () => {
    const { send } = setup();

    expect(await send({ action: 'ping' })).toEqual({ type: 'pong', id: null, ts: NOW });
  });

  it('answers resume with UNSUPPORTED', async () => {
    const { send } = setup();

    const reply = await send({ action: 'resume', since: { 'public:lobby': 3 }, id: 'r' });

    expect(reply).toMatchObject({ type: 'error', id: 'r', code: 'UNSUPPORTED' });
    expect(reply).toHaveProperty('message', 'Durable delivery is not enabled on this deployment.');
  });

  it('answers INTERNAL without internals when the store fails', async () => {
    // Prepare
    const { send, store } = setup();
    vi.spyOn(store, 'join').mockRejectedValue(new Error('ResourceNotFoundException: table connections-xyz'));

    // Act
    const reply = await send({ action: 'join', room: 'public:lobby', id: 'j1' });

    // Assess
    expect(reply).toMatchObject({ type: 'error', id: 'j1', code: 'INTERNAL' });
    expect(JSON.stringify(reply)).not.toMatch(/ResourceNotFound|connections-xyz|Error/);
  });

  it('answers INTERNAL when the event carries no identity', async () => {
    const { store } = setup();
    const handle = createHandler(settings, { store, sender: new RecordingSender() });
    const event = frameEvent({ action: 'ping', id: 1 });
    event.requestContext.authorizer = null;

    const result = await handle(event);

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body ?? '')).toMatchObject({ type: 'error', id: 1, code: 'INTERNAL' });
  });
});

describe('$default with the default clients', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const managementApi = useManagementApiStub();

  beforeEach(() => {
    ddb.reset();
  });

  it('checks membership, reads the room and posts signed requests to the management API', async () => {
    // Prepare
    ddb.on(GetCommand).resolves({ Item: { connectionId: 'c-alice' } });
    ddb.on(QueryCommand).resolves({ Items: [{ connectionId: 'c-alice' }, { connectionId: 'c-bob' }] });
    ddb.on(BatchWriteCommand).resolves({});
    const handle = createHandler(
      HandlerSettings.parse({ tableName: 'connections', callbackUrl: managementApi().callbackUrl }),
    );

    // Act
    const result = await handle(frameEvent({ action: 'send', room: 'public:lobby', data: 'hi', id: 1 }));

    // Assess
    expect(JSON.parse(result.body ?? '')).toMatchObject({
      type: 'ack',
      id: 1,
      result: { recipients: 2, delivered: 2 },
    });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'connections',
      Key: { pk: 'ROOM#public:lobby', sk: 'CONN#c-alice' },
    });
    expect(
      managementApi()
        .posts.map((post) => post.connectionId)
        .sort(),
    ).toEqual(['c-alice', 'c-bob']);
    expect(JSON.parse(managementApi().posts[0]?.body ?? '')).toMatchObject({
      type: 'message',
      from: 'alice',
      data: 'hi',
    });
    expect(managementApi().posts.every((post) => post.authorization?.startsWith('AWS4-HMAC-SHA256 Credential='))).toBe(
      true,
    );
  });
});
