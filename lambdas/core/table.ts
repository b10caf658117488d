/**
 * The one definition of the DynamoDB table: key schema, indexes, TTL and the item keys.
 *
 * The stack, the data access layer, the local gateway and the tests all derive from it.
 *
 * Items (single-table design):
 *
 * | item                  | pk            | sk            | gsi1 (byUser)              | gsi2 (byShard)               |
 * |-----------------------|---------------|---------------|----------------------------|------------------------------|
 * | connection            | `CONN#<id>`   | `META`        | `USER#<sub>` / `CONN#<id>` | `SHARD#<n>` / `CONN#<id>`    |
 * | room member           | `ROOM#<room>` | `CONN#<id>`   |                            |                              |
 * | membership back-link  | `CONN#<id>`   | `ROOM#<room>` |                            |                              |
 *
 * A room's members are one Query on the base table (strongly consistent, so a member whose join was acked
 * receives the next message). A connection's metadata and memberships share a partition, so `$disconnect`
 * finds everything it must delete with one Query. "Everyone" is a Query per shard of the sparse byShard index:
 * no Scan on any hot path.
 */

import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  /** Non-key attributes projected into the index: only what the readers need. */
  readonly nonKeyAttributes: readonly string[];
}

export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds. DynamoDB TTL deletes items hours after this, so readers also filter on it. */
  ttlAttribute: 'expiresAt',
  indexes: {
    byUser: {
      indexName: 'byUser',
      partitionKey: 'gsi1pk',
      sortKey: 'gsi1sk',
      nonKeyAttributes: ['connectionId', 'expiresAt'],
    },
    byShard: {
      indexName: 'byShard',
      partitionKey: 'gsi2pk',
      sortKey: 'gsi2sk',
      nonKeyAttributes: ['connectionId', 'expiresAt'],
    },
  },
} as const satisfies {
  partitionKey: string;
  sortKey: string;
  ttlAttribute: string;
  indexes: Record<string, IndexDefinition>;
};

/**
 * Number of shards of the byShard index. Connections are spread over them so that "everyone" is read with
 * a few parallel Queries and no single index partition takes every connect's write.
 */
export const CONNECTION_SHARDS = 8;

/**
 * API Gateway closes every connection after 2 hours. Records expire an hour after that, so a connection whose
 * `$disconnect` never ran is still cleaned up, and readers never mistake a live connection for an expired one.
 */
export const CONNECTION_TTL_SECONDS = 3 * 60 * 60;

export const keys = {
  connection: (connectionId: string) => ({ pk: `CONN#${connectionId}`, sk: 'META' }),
  roomMember: (room: string, connectionId: string) => ({ pk: `ROOM#${room}`, sk: `CONN#${connectionId}` }),
  membershipLink: (connectionId: string, room: string) => ({ pk: `CONN#${connectionId}`, sk: `ROOM#${room}` }),
  connectionPartition: (connectionId: string) => `CONN#${connectionId}`,
  roomPartition: (room: string) => `ROOM#${room}`,
  userPartition: (userId: string) => `USER#${userId}`,
  shardPartition: (shard: number) => `SHARD#${shard}`,
  roomFromLinkSortKey: (sk: string) => (sk.startsWith('ROOM#') ? sk.slice('ROOM#'.length) : undefined),
} as const;

/** A stable shard for a connection id (FNV-1a), so the same id always lands in the same shard. */
export function shardOf(connectionId: string, shards: number = CONNECTION_SHARDS): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < connectionId.length; i++) {
    hash ^= connectionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/**
 * The CreateTable input for a DynamoDB API server (the local gateway, the integration tests). The CDK stack
 * builds its table from the same `TABLE` definition.
 */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const indexes = Object.values(TABLE.indexes) as IndexDefinition[];
  const attributeNames = [TABLE.partitionKey, TABLE.sortKey, ...indexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributeNames.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: indexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] },
    })),
  };
}
