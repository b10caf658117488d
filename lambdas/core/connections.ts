/**
 * The connection store: connections, room memberships and the reads fan-out needs, over the single table
 * described in table.ts.
 *
 * Every read is a Query (never a Scan) and returns pages of connection ids, one page per Query, so fan-out
 * starts sending before the last page is read. DynamoDB's TTL deletes expired items hours late, so every read
 * filters them out itself.
 *
 * No transactions: dynalite, the local DynamoDB server, lacks them, and nothing here needs them. A join writes
 * its two items in one BatchWriteItem; a half-done join or leave is repaired by the next `$disconnect` or TTL.
 */
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { StoreError } from './errors.js';
import { CONNECTION_SHARDS, CONNECTION_TTL_SECONDS, keys, shardOf, TABLE } from './table.js';

/** A page of connection ids, in table order. */
export type ConnectionPage = readonly string[];

export interface ConnectionRecord {
  connectionId: string;
  userId: string;
  /** Epoch milliseconds. */
  connectedAt: number;
}

/** What the route handlers and fan-out need from the store; tests may pass another implementation. */
export interface ConnectionStore {
  putConnection(record: ConnectionRecord): Promise<void>;
  /** Deletes a connection and all its memberships. Idempotent. Resolves with the number of rooms it left. */
  removeConnection(connectionId: string): Promise<{ rooms: number }>;
  join(connectionId: string, userId: string, room: string): Promise<void>;
  leave(connectionId: string, room: string): Promise<void>;
  isMember(room: string, connectionId: string): Promise<boolean>;
  roomMembers(room: string): AsyncIterable<ConnectionPage>;
  userConnections(userId: string): AsyncIterable<ConnectionPage>;
  allConnections(): AsyncIterable<ConnectionPage>;
}

export interface DynamoConnectionStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Epoch milliseconds. */
  now?: () => number;
  /** Waits between retries of unprocessed batch items. */
  sleep?: (ms: number) => Promise<void>;
  /** Attempts per BatchWriteItem before giving up on its unprocessed items. */
  batchAttempts?: number;
  /** Items per Query page; DynamoDB's 1 MB page limit applies on top. */
  pageSize?: number;
  shards?: number;
}

/** BatchWriteItem takes at most 25 requests. */
const BATCH_LIMIT = 25;

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DynamoConnectionStore implements ConnectionStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly batchAttempts: number;
  private readonly pageSize: number | undefined;
  private readonly shards: number;

  constructor(options: DynamoConnectionStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.batchAttempts = options.batchAttempts ?? 8;
    this.pageSize = options.pageSize;
    this.shards = options.shards ?? CONNECTION_SHARDS;
  }

  private expiresAt(fromMs: number): number {
    return Math.floor(fromMs / 1000) + CONNECTION_TTL_SECONDS;
  }

  private live(item: Record<string, unknown>): boolean {
    const expiresAt = item[TABLE.ttlAttribute];
    return typeof expiresAt !== 'number' || expiresAt > this.now() / 1000;
  }

  async putConnection({ connectionId, userId, connectedAt }: ConnectionRecord): Promise<void> {
    const { byUser, byShard } = TABLE.indexes;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.connection(connectionId),
          connectionId,
          userId,
          connectedAt,
          [TABLE.ttlAttribute]: this.expiresAt(connectedAt),
          [byUser.partitionKey]: keys.userPartition(userId),
          [byUser.sortKey]: keys.connectionPartition(connectionId),
          [byShard.partitionKey]: keys.shardPartition(shardOf(connectionId, this.shards)),
          [byShard.sortKey]: keys.connectionPartition(connectionId),
        },
      }),
    );
  }

  async removeConnection(connectionId: string): Promise<{ rooms: number }> {
    const deletes: WriteRequest[] = [];
    let rooms = 0;
    const pages = this.queryItems({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
      ExpressionAttributeValues: { ':pk': keys.connectionPartition(connectionId) },
      ProjectionExpression: '#pk, #sk',
      ConsistentRead: true,
    });
    for await (const items of pages) {
      for (const item of items) {
        const pk = item[TABLE.partitionKey] as string;
        const sk = item[TABLE.sortKey] as string;
        deletes.push({ DeleteRequest: { Key: { [TABLE.partitionKey]: pk, [TABLE.sortKey]: sk } } });
        const room = keys.roomFromLinkSortKey(sk);
        if (room !== undefined) {
          rooms++;
          deletes.push({ DeleteRequest: { Key: keys.roomMember(room, connectionId) } });
        }
      }
    }
    await this.batchWrite(deletes);
    return { rooms };
  }

  async join(connectionId: string, userId: string, room: string): Promise<void> {
    const expiresAt = this.expiresAt(this.now());
    await this.batchWrite([
      {
        PutRequest: {
          Item: { ...keys.roomMember(room, connectionId), connectionId, userId, [TABLE.ttlAttribute]: expiresAt },
        },
      },
      { PutRequest: { Item: { ...keys.membershipLink(connectionId, room), room, [TABLE.ttlAttribute]: expiresAt } } },
    ]);
  }

  async leave(connectionId: string, room: string): Promise<void> {
    await this.batchWrite([
      { DeleteRequest: { Key: keys.roomMember(room, connectionId) } },
      { DeleteRequest: { Key: keys.membershipLink(connectionId, room) } },
    ]);
  }

  async isMember(room: string, connectionId: string): Promise<boolean> {
    // Consistent, so a join acked a moment ago is seen by the next send.
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.roomMember(room, connectionId), ConsistentRead: true }),
    );
    return Item !== undefined && this.live(Item);
  }

  roomMembers(room: string): AsyncIterable<ConnectionPage> {
    // Consistent, so a member whose join was acked receives the next message.
    return this.connectionIdPages(TABLE.partitionKey, keys.roomPartition(room), { consistentRead: true });
  }

  userConnections(userId: string): AsyncIterable<ConnectionPage> {
    const { byUser } = TABLE.indexes;
    return this.connectionIdPages(byUser.partitionKey, keys.userPartition(userId), { indexName: byUser.indexName });
  }

  allConnections(): AsyncIterable<ConnectionPage> {
    const { byShard } = TABLE.indexes;
    const perShard = Array.from({ length: this.shards }, (_, shard) =>
      this.connectionIdPages(byShard.partitionKey, keys.shardPartition(shard), { indexName: byShard.indexName }),
    );
    return mergePages(perShard);
  }

  /** The live connection ids of one partition of the table or of an index, a page per Query. */
  private async *connectionIdPages(
    partitionKey: string,
    partition: string,
    options: { indexName?: string; consistentRead?: boolean },
  ): AsyncGenerator<ConnectionPage> {
    const pages = this.queryItems({
      TableName: this.tableName,
      ...(options.indexName ? { IndexName: options.indexName } : {}),
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': partitionKey, '#id': 'connectionId', '#exp': TABLE.ttlAttribute },
      ExpressionAttributeValues: { ':pk': partition },
      ProjectionExpression: '#id, #exp',
      ...(options.consistentRead ? { ConsistentRead: true } : {}),
    });
    for await (const items of pages) {
      const ids = items
        .filter((item) => this.live(item))
        .map((item) => item.connectionId)
        .filter((id): id is string => typeof id === 'string');
      if (ids.length > 0) yield ids;
    }
  }

  private async *queryItems(input: QueryCommandInput): AsyncGenerator<Record<string, unknown>[]> {
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          ...input,
          ...(this.pageSize ? { Limit: this.pageSize } : {}),
          ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
        }),
      );
      yield page.Items ?? [];
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey);
  }

  /** Writes in batches of 25, retrying unprocessed items with exponential backoff and full jitter. */
  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    for (let start = 0; start < requests.length; start += BATCH_LIMIT) {
      let pending = requests.slice(start, start + BATCH_LIMIT);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= this.batchAttempts) {
          throw new StoreError(`${pending.length} batch write requests still unprocessed after ${attempt} attempts`);
        }
        if (attempt > 0) await this.sleep(Math.random() * Math.min(2000, 25 * 2 ** attempt));
        const { UnprocessedItems } = await this.client.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = (UnprocessedItems?.[this.tableName] ?? []) as WriteRequest[];
      }
    }
  }
}

/** Interleaves several page streams, reading them concurrently and yielding pages as they arrive. */
export async function* mergePages<T>(sources: readonly AsyncIterable<T>[]): AsyncGenerator<T> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>();
  const pull = (index: number) => {
    const next = (iterators[index] as AsyncIterator<T>).next().then((result) => ({ index, result }));
    // A source that fails after another already failed must not become an unhandled rejection.
    next.catch(() => undefined);
    pending.set(index, next);
  };
  iterators.forEach((_, index) => {
    pull(index);
  });
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
      } else {
        pull(index);
        yield result.value;
      }
    }
  } finally {
    // Stop the other sources when the consumer stops early or one source fails.
    await Promise.allSettled([...pending.keys()].map((index) => iterators[index]?.return?.()));
  }
}
