/**
 * The DynamoDB API server behind the local gateway.
 *
 * By default it is dynalite, in memory (or persisted to a folder): no Java, no Docker. It runs in a worker
 * thread of this process, so its request parsing, validation and LevelDB work do not queue behind the
 * gateway's WebSocket traffic and handlers on one event loop (on 2 cores that is about a fifth of the
 * gateway's CPU per connect: docs/benchmarks.md).
 * When `AWS_ENDPOINT_URL_DYNAMODB` is already set, the SDK's standard variable, that server is used instead.
 *
 * The handlers create their DynamoDB client once per process and read the endpoint from the environment, so
 * the endpoint is a property of the process, not of one gateway: gateways in one process share one server
 * (and keep apart by table name), and dynalite stops when the last of them closes.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
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

/**
 * The worker's code, plain CommonJS so that it needs no TypeScript loader: dynalite listening on a free
 * loopback port, stopped by a `stop` message.
 */
const DYNALITE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const server = require(workerData.module)(workerData.options);
server.once('error', (error) => parentPort.postMessage({ type: 'error', message: error.message }));
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
parentPort.on('message', (message) => {
  if (message === 'stop') server.close(() => parentPort.close());
});
`;

async function startDynalite(dataDir: string | undefined): Promise<Shared> {
  const worker = new Worker(DYNALITE_WORKER, {
    eval: true,
    workerData: {
      module: createRequire(import.meta.url).resolve('dynalite'),
      options: { ...(dataDir ? { path: dataDir } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 },
    },
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`dynalite's worker exited (${code}) before it listened`)));
    worker.once('message', (message: { type: string; port?: number; message?: string }) => {
      if (message.type === 'listening' && message.port) resolve(message.port);
      else reject(new Error(`dynalite could not listen: ${message.message ?? 'unknown error'}`));
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  worker.removeAllListeners('error');
  const endpoint = `http://127.0.0.1:${port}`;
  process.env[ENDPOINT_VARIABLE] = endpoint;
  return {
    endpoint,
    dataDir,
    users: 0,
    stop: async () => {
      worker.postMessage('stop');
      await exited;
    },
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
