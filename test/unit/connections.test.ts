import 'aws-sdk-client-mock-vitest/extend';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { type ConnectionPage, DynamoConnectionStore, mergePages } from '../../lambdas/core/connections.js';
import { StoreError } from '../../lambdas/core/errors.js';
import { CONNECTION_SHARDS, CONNECTION_TTL_SECONDS, shardOf } from '../../lambdas/core/table.js';

const TABLE_NAME = 'connections';
const NOW = Date.UTC(2025, 0, 1);
const NOW_SECONDS = NOW / 1000;

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

function store(options: { batchAttempts?: number } = {}) {
  return new DynamoConnectionStore({
    client,
    tableName: TABLE_NAME,
    now: () => NOW,
    sleep: () => Promise.resolve(),
    ...options,
  });
}

async function collect(pages: AsyncIterable<ConnectionPage>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const page of pages) out.push([...page]);
  return out;
}

beforeEach(() => {
  ddb.reset();
});

describe('DynamoConnectionStore.putConnection', () => {
  it('writes the connection with its TTL and both index keys', async () => {
    ddb.on(PutCommand).resolves({});

    await store().putConnection({ connectionId: 'c1', userId: 'alice', connectedAt: NOW });

    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE_NAME,
      Item: {
        pk: 'CONN#c1',
        sk: 'META',
        connectionId: 'c1',
        userId: 'alice',
        connectedAt: NOW,
        expiresAt: NOW_SECONDS + CONNECTION_TTL_SECONDS,
        gsi1pk: 'USER#alice',
        gsi1sk: 'CONN#c1',
        gsi2pk: `SHARD#${shardOf('c1')}`,
        gsi2sk: 'CONN#c1',
      },
    });
  });
});

describe('DynamoConnectionStore.removeConnection', () => {
  it('deletes the connection, its back-links and its room member items after one Query', async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({
      Items: [
        { pk: 'CONN#c1', sk: 'META' },
        { pk: 'CONN#c1', sk: 'ROOM#public:a' },
        { pk: 'CONN#c1', sk: 'ROOM#team:b' },
      ],
    });
    ddb.on(BatchWriteCommand).resolves({});

    // Act
    const result = await store().removeConnection('c1');

    // Assess
    expect(result).toEqual({ rooms: 2 });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLE_NAME,
      ExpressionAttributeValues: { ':pk': 'CONN#c1' },
      ConsistentRead: true,
    });
    const deleted = ddb
      .commandCalls(BatchWriteCommand)
      .flatMap((call) => call.args[0].input.RequestItems?.[TABLE_NAME] ?? [])
      .map((request) => request.DeleteRequest?.Key);
    expect(deleted).toEqual(
      expect.arrayContaining([
        { pk: 'CONN#c1', sk: 'META' },
        { pk: 'CONN#c1', sk: 'ROOM#public:a' },
        { pk: 'ROOM#public:a', sk: 'CONN#c1' },
        { pk: 'CONN#c1', sk: 'ROOM#team:b' },
        { pk: 'ROOM#team:b', sk: 'CONN#c1' },
      ]),
    );
    expect(deleted).toHaveLength(5);
  });

  it('is a no-op for a connection that no longer exists', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    await expect(store().removeConnection('gone')).resolves.toEqual({ rooms: 0 });
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
  });

  it('splits more than 25 deletes into several batches and follows Query pages', async () => {
    // Prepare: 20 memberships = 1 meta + 20 links + 20 members = 41 deletes, over two Query pages.
    const links = Array.from({ length: 20 }, (_, i) => ({ pk: 'CONN#c1', sk: `ROOM#r${i}` }));
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ pk: 'CONN#c1', sk: 'META' }, ...links.slice(0, 10)], LastEvaluatedKey: { pk: 'x' } })
      .resolvesOnce({ Items: links.slice(10) });
    ddb.on(BatchWriteCommand).resolves({});

    // Act
    await store().removeConnection('c1');

    // Assess
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, { ExclusiveStartKey: { pk: 'x' } });
    const sizes = ddb.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems?.[TABLE_NAME]?.length);
    expect(sizes).toEqual([25, 16]);
  });

  it('retries unprocessed items with backoff until DynamoDB takes them', async () => {
    // Prepare
    const sleep = vi.fn(() => Promise.resolve());
    const leftover = [{ DeleteRequest: { Key: { pk: 'ROOM#a', sk: 'CONN#c1' } } }];
    ddb.on(QueryCommand).resolves({ Items: [{ pk: 'CONN#c1', sk: 'ROOM#a' }] });
    ddb
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE_NAME]: leftover } })
      .resolvesOnce({});
    const subject = new DynamoConnectionStore({ client, tableName: TABLE_NAME, sleep });

    // Act
    await subject.removeConnection('c1');

    // Assess
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteCommand, 2);
    expect(ddb).toHaveReceivedNthCommandWith(BatchWriteCommand, 2, { RequestItems: { [TABLE_NAME]: leftover } });
    expect(sleep).toHaveBeenCalledTimes(1);
  });

  it('fails with a StoreError when items stay unprocessed after every attempt', async () => {
    const leftover = [{ DeleteRequest: { Key: { pk: 'CONN#c1', sk: 'META' } } }];
    ddb.on(QueryCommand).resolves({ Items: [{ pk: 'CONN#c1', sk: 'META' }] });
    ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TABLE_NAME]: leftover } });

    await expect(store({ batchAttempts: 3 }).removeConnection('c1')).rejects.toThrow(StoreError);
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteCommand, 3);
  });
});

describe('DynamoConnectionStore memberships', () => {
  it('joins with one BatchWriteItem putting the member item and the back-link, both expiring', async () => {
    ddb.on(BatchWriteCommand).resolves({});

    await store().join('c1', 'alice', 'team:a');

    const expiresAt = NOW_SECONDS + CONNECTION_TTL_SECONDS;
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(BatchWriteCommand, {
      RequestItems: {
        [TABLE_NAME]: [
          {
            PutRequest: { Item: { pk: 'ROOM#team:a', sk: 'CONN#c1', connectionId: 'c1', userId: 'alice', expiresAt } },
          },
          { PutRequest: { Item: { pk: 'CONN#c1', sk: 'ROOM#team:a', room: 'team:a', expiresAt } } },
        ],
      },
    });
  });

  it('leaves by deleting both items', async () => {
    ddb.on(BatchWriteCommand).resolves({});

    await store().leave('c1', 'team:a');

    expect(ddb).toHaveReceivedCommandExactlyOnceWith(BatchWriteCommand, {
      RequestItems: {
        [TABLE_NAME]: [
          { DeleteRequest: { Key: { pk: 'ROOM#team:a', sk: 'CONN#c1' } } },
          { DeleteRequest: { Key: { pk: 'CONN#c1', sk: 'ROOM#team:a' } } },
        ],
      },
    });
  });

  it('checks membership with a consistent read', async () => {
    ddb.on(GetCommand).resolves({ Item: { connectionId: 'c1', expiresAt: NOW_SECONDS + 60 } });

    await expect(store().isMember('team:a', 'c1')).resolves.toBe(true);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      Key: { pk: 'ROOM#team:a', sk: 'CONN#c1' },
      ConsistentRead: true,
    });
  });

  it('does not count an expired or missing member item as membership', async () => {
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: { connectionId: 'c1', expiresAt: NOW_SECONDS - 1 } })
      .resolvesOnce({});

    await expect(store().isMember('team:a', 'c1')).resolves.toBe(false);
    await expect(store().isMember('team:a', 'c1')).resolves.toBe(false);
  });
});

describe('DynamoConnectionStore reads', () => {
  it('pages through a room with consistent Queries, dropping expired members', async () => {
    // Prepare
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [
          { connectionId: 'c1', expiresAt: NOW_SECONDS + 60 },
          { connectionId: 'old', expiresAt: NOW_SECONDS - 60 },
        ],
        LastEvaluatedKey: { pk: 'ROOM#a', sk: 'CONN#old' },
      })
      .resolvesOnce({ Items: [{ connectionId: 'c2', expiresAt: NOW_SECONDS + 60 }] });

    // Act
    const pages = await collect(store().roomMembers('a'));

    // Assess
    expect(pages).toEqual([['c1'], ['c2']]);
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 1, {
      TableName: TABLE_NAME,
      ExpressionAttributeValues: { ':pk': 'ROOM#a' },
      ConsistentRead: true,
    });
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, {
      ExclusiveStartKey: { pk: 'ROOM#a', sk: 'CONN#old' },
    });
  });

  it("reads a user's connections from the byUser index", async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ connectionId: 'c1', expiresAt: NOW_SECONDS + 60 }] });

    const pages = await collect(store().userConnections('alice'));

    expect(pages).toEqual([['c1']]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'byUser',
      ExpressionAttributeValues: { ':pk': 'USER#alice' },
    });
  });

  it('reads everyone with one Query per shard of the byShard index, and never a Scan', async () => {
    // Prepare
    ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => ({
      Items: [{ connectionId: `in-${input.ExpressionAttributeValues[':pk']}`, expiresAt: NOW_SECONDS + 60 }],
    }));

    // Act
    const ids = (await collect(store().allConnections())).flat();

    // Assess
    expect(ids.sort()).toEqual(Array.from({ length: CONNECTION_SHARDS }, (_, shard) => `in-SHARD#${shard}`).sort());
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, CONNECTION_SHARDS);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { IndexName: 'byShard' });
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });
});

describe('mergePages', () => {
  it('yields every page of every source', async () => {
    async function* source(prefix: string, count: number) {
      for (let i = 0; i < count; i++) yield [`${prefix}${i}`];
    }

    const pages = await collect(mergePages([source('a', 2), source('b', 3), source('c', 0)]));

    expect(pages.flat().sort()).toEqual(['a0', 'a1', 'b0', 'b1', 'b2']);
  });

  it('fails when a source fails', async () => {
    async function* failing(): AsyncGenerator<ConnectionPage> {
      yield ['x'];
      throw new Error('query failed');
    }

    await expect(collect(mergePages([failing()]))).rejects.toThrow('query failed');
  });
});
