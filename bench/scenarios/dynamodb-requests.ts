/**
 * DynamoDB requests per operation, counted by an SDK middleware on the handlers' DynamoDB client.
 *
 * The gateway runs in this process with the real handlers, each built through its `createHandler` with a
 * store over the counted client (the authorizer reads no table). Every operation runs alone, through the
 * gateway as a client would cause it, between a reset and a snapshot of the counter.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { WebSocket } from 'ws';
import { createHandler as connectHandler } from '../../lambdas/connect/index.js';
import { DynamoConnectionStore } from '../../lambdas/core/connections.js';
import { createHandler as defaultHandler } from '../../lambdas/default/index.js';
import { createHandler as disconnectHandler } from '../../lambdas/disconnect/index.js';
import { createHandler as publishHandler } from '../../lambdas/publish/index.js';
import { type Gateway, startGateway } from '../../local/gateway.js';
import type { LambdaFunction } from '../../local/handlers.js';
import { RequestCounter } from '../support/request-counter.js';

export interface DynamoRequestsOptions {
  /** Members of the room a client sends to. */
  roomSize: number;
  /** Room counts of the disconnecting connection. */
  disconnectRooms: readonly number[];
  /** Connections of the user a publish targets. */
  userConnections: number;
  stateDir: string;
  progress: (message: string) => void;
}

export interface DynamoRequestsRow {
  operation: string;
  total: number;
  byOperation: Record<string, number>;
}

interface Built {
  connect: LambdaFunction;
  disconnect: LambdaFunction;
  default: LambdaFunction;
  publish: (event: unknown) => Promise<unknown>;
}

const unlimited = 1_000_000_000;

export async function runDynamoRequests(options: DynamoRequestsOptions): Promise<DynamoRequestsRow[]> {
  const counter = new RequestCounter();
  let built: Built | undefined;
  const disconnected = new Set<() => void>();
  const call =
    (name: Exclude<keyof Built, 'publish'>): LambdaFunction =>
    (event, context) => {
      if (!built) return Promise.reject(new Error('handlers not built yet'));
      return built[name](event, context);
    };
  const gateway = await startGateway({
    port: 0,
    stateDir: options.stateDir,
    logLevel: 'error',
    devTokenEndpoint: false,
    limits: { connectionsPerSecond: unlimited, requestsPerSecond: unlimited, requestBurst: unlimited },
    handlers: {
      connect: call('connect'),
      default: call('default'),
      disconnect: async (event, context) => {
        try {
          return await call('disconnect')(event, context);
        } finally {
          for (const done of disconnected) done();
        }
      },
    },
  });
  const sockets: WebSocket[] = [];
  try {
    const base = new DynamoDBClient({ endpoint: gateway.dynamodbEndpoint });
    counter.attach(base);
    const client = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
    const store = new DynamoConnectionStore({ client, tableName: gateway.tableName });
    const logger = new Logger({ logLevel: 'SILENT' });
    const publish = publishHandler(gateway.settings, { store, logger });
    built = {
      connect: connectHandler(gateway.settings, { store, logger }) as LambdaFunction,
      disconnect: disconnectHandler(gateway.settings, { store, logger }) as LambdaFunction,
      default: defaultHandler(gateway.settings, { store, logger }) as LambdaFunction,
      publish: (event) => publish(event),
    };

    const rows: DynamoRequestsRow[] = [];
    const measure = async (operation: string, act: () => Promise<unknown>) => {
      counter.reset();
      await act();
      rows.push({ operation, ...counter.snapshot() });
    };
    const connect = async (sub: string) => {
      const ws = await open(gateway, sub);
      sockets.push(ws);
      return ws;
    };

    await measure('connect', () => connect('bench-connect'));
    const joiner = await connect('bench-join');
    await measure('join', () => request(joiner, { action: 'join', room: 'public:bench-join' }));

    for (const k of options.disconnectRooms) {
      const leaving = await connect(`bench-leave-${k}`);
      for (let r = 0; r < k; r++) await request(leaving, { action: 'join', room: `public:bench-leave-${r}` });
      await measure(`disconnect, ${k} room${k === 1 ? '' : 's'}`, async () => {
        const done = new Promise<void>((resolve) => {
          const once = () => {
            disconnected.delete(once);
            resolve();
          };
          disconnected.add(once);
        });
        leaving.close(1000);
        await done;
      });
    }

    options.progress(`dynamodb requests: ${options.roomSize} members join a room`);
    const room = 'public:bench-send';
    const members: WebSocket[] = [];
    for (let m = 0; m < options.roomSize; m++) {
      const ws = await connect(`bench-member-${m % 16}`);
      await request(ws, { action: 'join', room });
      members.push(ws);
    }
    await measure(`send to a room of ${options.roomSize}`, () =>
      request(members[0] as WebSocket, { action: 'send', room, data: { hello: 'room' } }),
    );

    for (let c = 0; c < options.userConnections; c++) await connect('bench-user');
    await measure(
      `publish to a user (${options.userConnections} connections)`,
      () =>
        built?.publish({ to: { users: ['bench-user'] }, event: 'bench.user', data: { hello: 'user' } }) ??
        Promise.resolve(),
    );
    await measure(
      `publish to everyone (${sockets.length} connections)`,
      () => built?.publish({ to: { all: true }, event: 'bench.all', data: { hello: 'all' } }) ?? Promise.resolve(),
    );
    return rows;
  } finally {
    for (const ws of sockets) ws.terminate();
    await gateway.close();
  }
}

function open(gateway: Gateway, sub: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(gateway.url, ['switchboard.v1', `bearer.${gateway.issueToken(sub)}`]);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

let requestIds = 0;

/** Sends a protocol request and waits for its ack; an error frame rejects. */
function request(ws: WebSocket, frame: Record<string, unknown>): Promise<void> {
  const id = `r${++requestIds}`;
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      const reply = JSON.parse(data.toString('utf8')) as { type?: string; id?: unknown; code?: string };
      if (reply.id !== id) return;
      ws.off('message', onMessage);
      if (reply.type === 'ack') resolve();
      else reject(new Error(`${String(frame.action)} refused: ${reply.code}`));
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ ...frame, id }));
  });
}
