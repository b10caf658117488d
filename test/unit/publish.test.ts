import 'aws-sdk-client-mock-vitest/extend';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { HandlerSettings } from '../../lambdas/core/config.js';
import { ConfigurationError, PublishValidationError } from '../../lambdas/core/errors.js';
import { MAX_DATA_BYTES, NotificationFrame } from '../../lambdas/core/protocol.js';
import { MAX_BATCH } from '../../lambdas/core/publish-input.js';
import { createHandler } from '../../lambdas/publish/index.js';
import { useManagementApiStub } from '../support/management-api.js';
import { MemoryConnectionStore } from '../support/memory-store.js';
import { goneError, RecordingSender } from '../support/senders.js';

const NOW = 1_735_689_600_000;
const settings = HandlerSettings.parse({ tableName: 'connections', callbackUrl: 'https://abc.execute-api.test/dev' });

async function setup() {
  const store = new MemoryConnectionStore();
  const sender = new RecordingSender();
  await store.putConnection({ connectionId: 'a1', userId: 'alice', connectedAt: NOW });
  await store.putConnection({ connectionId: 'a2', userId: 'alice', connectedAt: NOW });
  await store.putConnection({ connectionId: 'b1', userId: 'bob', connectedAt: NOW });
  await store.putConnection({ connectionId: 'c1', userId: 'carol', connectedAt: NOW });
  await store.join('a1', 'alice', 'team:red');
  await store.join('b1', 'bob', 'team:red');
  await store.join('b1', 'bob', 'team:blue');
  let ids = 0;
  const publish = createHandler(settings, { store, sender, now: () => NOW, newId: () => `n${++ids}` });
  return { store, sender, publish };
}

const frames = (sender: RecordingSender) =>
  sender.posts.map((post) => ({ to: post.connectionId, frame: NotificationFrame.parse(JSON.parse(post.payload)) }));

describe('publish: validation', () => {
  it('names the path of each problem', async () => {
    const { publish } = await setup();

    const error = await publish({ to: { users: ['alice', ''] }, event: 'e', data: 1 }).catch((e: unknown) => e);

    expect((error as PublishValidationError).problems.join('\n')).toContain('to.users[1]');
  });

  it.each([
    ['no target', { event: 'e', data: 1 }],
    ['an empty user list', { to: { users: [] }, event: 'e', data: 1 }],
    ['two kinds of target', { to: { users: ['a'], rooms: ['r'] }, event: 'e', data: 1 }],
    ['a bad room name', { to: { rooms: ['bad room'] }, event: 'e', data: 1 }],
    ['a bad event name', { to: { all: true }, event: 'has space', data: 1 }],
    ['oversized data', { to: { all: true }, event: 'e', data: 'x'.repeat(MAX_DATA_BYTES) }],
    ['an extra field', { to: { all: true }, event: 'e', data: 1, priority: 'high' }],
    ['an empty batch', []],
    ['not an object', 'hello'],
  ])('refuses %s with a PublishValidationError and sends nothing', async (_case, input) => {
    const { publish, sender } = await setup();

    await expect(publish(input)).rejects.toThrow(PublishValidationError);
    expect(sender.posts).toHaveLength(0);
  });

  it('refuses a whole batch when one item is bad, naming its path', async () => {
    const { publish, sender } = await setup();
    const batch = [
      { to: { users: ['alice'] }, event: 'ok', data: 1 },
      { to: { users: ['bob'] }, event: 'ok', data: 1, extra: true },
    ];

    const error = await publish(batch).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PublishValidationError);
    expect((error as PublishValidationError).name).toBe('PublishValidationError');
    expect((error as PublishValidationError).message).toMatch(/^Invalid publish input: \[1\]: .*"extra"/);
    expect(sender.posts).toHaveLength(0);
  });

  it(`refuses a batch over ${MAX_BATCH} notifications`, async () => {
    const { publish } = await setup();
    const batch = Array.from({ length: MAX_BATCH + 1 }, () => ({ to: { all: true }, event: 'e', data: 1 }));

    await expect(publish(batch)).rejects.toThrow(PublishValidationError);
  });
});

describe('publish: targets', () => {
  it('notifies every connection of each user', async () => {
    const { publish, sender } = await setup();

    const report = await publish({
      to: { users: ['alice', 'carol', 'nobody'] },
      event: 'order.shipped',
      data: { n: 1 },
    });

    expect(report).toEqual({ recipients: 3, delivered: 3, gone: 0, failed: 0 });
    expect(sender.recipients()).toEqual(['a1', 'a2', 'c1']);
    expect(frames(sender)[0]?.frame).toEqual({
      type: 'notification',
      event: 'order.shipped',
      data: { n: 1 },
      ts: NOW,
      id: 'n1',
    });
  });

  it('notifies each room with the room named in the frame', async () => {
    const { publish, sender } = await setup();

    const report = await publish({ to: { rooms: ['team:red', 'team:blue'] }, event: 'deploy', data: null });

    expect(report).toEqual({ recipients: 3, delivered: 3, gone: 0, failed: 0 });
    const received = frames(sender)
      .map(({ to, frame }) => `${to}@${frame.room}`)
      .sort();
    expect(received).toEqual(['a1@team:red', 'b1@team:blue', 'b1@team:red']);
    expect(new Set(frames(sender).map(({ frame }) => frame.id))).toEqual(new Set(['n1']));
  });

  it('notifies the given connections, counting a gone one and pruning it', async () => {
    const { publish, sender, store } = await setup();
    sender.failNext('zz', goneError());

    const report = await publish({ to: { connections: ['b1', 'zz', 'b1'] }, event: 'ping', data: 1 });

    expect(report).toEqual({ recipients: 2, delivered: 1, gone: 1, failed: 0 });
    expect(store.removed).toEqual(['zz']);
  });

  it('notifies everyone except the excluded connections', async () => {
    const { publish, sender } = await setup();

    const report = await publish({ to: { all: true }, event: 'maintenance', data: 'soon', exclude: ['a2'] });

    expect(report).toMatchObject({ recipients: 3, delivered: 3 });
    expect(sender.recipients()).toEqual(['a1', 'b1', 'c1']);
  });

  it('answers a batch with one report per notification, in order', async () => {
    const { publish } = await setup();

    const reports = await publish([
      { to: { users: ['bob'] }, event: 'a', data: 1 },
      { to: { rooms: ['team:empty'] }, event: 'b', data: 2 },
      { to: { all: true }, event: 'c', data: 3 },
    ]);

    expect(reports).toEqual([
      { recipients: 1, delivered: 1, gone: 0, failed: 0 },
      { recipients: 0, delivered: 0, gone: 0, failed: 0 },
      { recipients: 4, delivered: 4, gone: 0, failed: 0 },
    ]);
  });
});

describe('publish with the default clients', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const managementApi = useManagementApiStub();

  beforeEach(() => {
    ddb.reset();
  });

  it('reads the user index and posts a signed request to the management API', async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({ Items: [{ connectionId: 'a1' }] });
    const handle = createHandler(
      HandlerSettings.parse({ tableName: 'connections', callbackUrl: managementApi().callbackUrl }),
    );

    // Act
    const report = await handle({ to: { users: ['alice'] }, event: 'e', data: 1 });

    // Assess
    expect(report).toEqual({ recipients: 1, delivered: 1, gone: 0, failed: 0 });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { IndexName: 'byUser' });
    expect(managementApi().posts.map((post) => post.connectionId)).toEqual(['a1']);
    expect(managementApi().posts[0]?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/execute-api\/aws4_request/,
    );
  });

  it('prunes a connection the management API reports gone', async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({ Items: [{ pk: 'CONN#a1', sk: 'META', connectionId: 'a1' }] });
    ddb.on(QueryCommand, { IndexName: 'byUser' }).resolves({ Items: [{ connectionId: 'a1' }] });
    ddb.on(BatchWriteCommand).resolves({});
    managementApi().gone.add('a1');
    const handle = createHandler(
      HandlerSettings.parse({ tableName: 'connections', callbackUrl: managementApi().callbackUrl }),
    );

    // Act
    const report = await handle({ to: { users: ['alice'] }, event: 'e', data: 1 });

    // Assess
    expect(report).toEqual({ recipients: 1, delivered: 0, gone: 1, failed: 0 });
    expect(ddb).toHaveReceivedCommandWith(BatchWriteCommand, {
      RequestItems: { connections: [{ DeleteRequest: { Key: { pk: 'CONN#a1', sk: 'META' } } }] },
    });
  });

  it('refuses to start without a callback URL', () => {
    expect(() => createHandler(HandlerSettings.parse({ tableName: 'connections' }))).toThrow(ConfigurationError);
  });
});
