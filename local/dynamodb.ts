/**
 * The DynamoDB API server behind the local gateway.
 *
 * By default it is dynalite, in this process and in memory (or persisted to a folder): no Java, no Docker.
 * When `AWS_ENDPOINT_URL_DYNAMODB` is already set, the SDK's standard variable, that server is used instead.
 *
 * The handlers create their DynamoDB client once per process and read the endpoint from the environment, so
 * the endpoint is a property of the process, not of one gateway: gateways in one process share one server
 * (and keep apart by table name), and dynalite stops when the last of them closes.
 */
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput } from '../lambdas/core/table.js';

export const ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL_DYNAMODB';

export interface DynamoServer {
  /** The endpoint the handlers use. */
  readonly endpoint: string;
  /** `dynalite` when this process runs it, `external` when `AWS_ENDPOINT_URL_DYNAMODB` named another server. */
  readonly kind: 'dynalite' | 'external';
  release(): Promise<void>;
}

interface Shared {
  endpoint: string;
  dataDir: string | undefined;
  users: number;
  stop: () => Promise<void>;
}

let shared: Promise<Shared> | undefined;

/** Dummy credentials and a region, only where none are set: a local server accepts any. */
export function ensureLocalAwsEnvironment(): void {
  process.env.AWS_REGION ??= process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (!process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE) {
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
  }
}

export async function acquireDynamo(options: { dataDir?: string } = {}): Promise<DynamoServer> {
  ensureLocalAwsEnvironment();
  const external = process.env[ENDPOINT_VARIABLE];
  if (external && !shared) {
    return { endpoint: external, kind: 'external', release: async () => undefined };
  }
  shared ??= startDynalite(options.dataDir);
  const server = await shared;
  if (server.dataDir !== options.dataDir) {
    throw new Error(
      `This process already runs dynalite with data dir ${server.dataDir ?? '(memory)'}; got ${options.dataDir ?? '(memory)'}`,
    );
  }
  server.users += 1;
  let released = false;
  return {
    endpoint: server.endpoint,
    kind: 'dynalite',
    release: async () => {
      if (released) return;
      released = true;
      server.users -= 1;
      if (server.users > 0) return;
      shared = undefined;
      if (process.env[ENDPOINT_VARIABLE] === server.endpoint) delete process.env[ENDPOINT_VARIABLE];
      await server.stop();
    },
  };
}

async function startDynalite(dataDir: string | undefined): Promise<Shared> {
  const server = dynalite({
    ...(dataDir ? { path: dataDir } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env[ENDPOINT_VARIABLE] = endpoint;
  return {
    endpoint,
    dataDir,
    users: 0,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Creates the table from the stack's definition unless it exists, and waits until it is ACTIVE. */
export async function ensureTable(endpoint: string, tableName: string, timeoutMs = 30_000): Promise<void> {
  const client = new DynamoDBClient({ endpoint });
  try {
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
        const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
        if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
      if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    client.destroy();
  }
}
