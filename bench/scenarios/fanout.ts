/**
 * Fan-out: publish to a room of N connected clients and measure the time until the last client has
 * received, and the CPU the publishing process spent per delivered message.
 *
 * Layout: the gateway (real handlers, dynalite) in one child process, the WebSocket clients in child
 * processes of at most `clientsPerProcess` connections, and the publisher in this process. The publisher
 * resolves the members from DynamoDB (through the real store for our fan-out, with a Scan for the naive
 * baselines) and posts through the gateway's management API, so every variant pays for its reads too.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { HandlerSettings } from '../../lambdas/core/config.js';
import { DynamoConnectionStore } from '../../lambdas/core/connections.js';
import type { Sender } from '../../lambdas/core/fanout.js';
import { FastSender } from '../../lambdas/core/fast-sender.js';
import { ManagementApiSender } from '../../lambdas/core/management-api-sender.js';
import type { DeliveryReport } from '../../lambdas/core/publish-input.js';
import { publish } from '../../lambdas/core/publisher.js';
import { naiveClients, scanThenPromiseAll, scanThenSequential } from '../baselines/naive-fanout.js';
import { type Child, clock, startChild } from '../support/children.js';
import { type ComponentTime, profiled, summarizeProfile } from '../support/profile.js';
import { cpuMicros, median, sleep } from '../support/stats.js';
import type { ClientsIn, ClientsOut, GatewayIn, GatewayOut, GatewayReady } from '../workers/protocol.js';

export const FANOUT_VARIANTS = [
  'fanOut + FastSender',
  'fanOut + SDK client',
  'Scan + Promise.all',
  'Scan + for…await',
] as const;
export type FanoutVariant = (typeof FANOUT_VARIANTS)[number];
export const BASELINES: readonly FanoutVariant[] = ['Scan + Promise.all', 'Scan + for…await'];

export interface FanoutOptions {
  sizes: readonly number[];
  runs: number;
  clientsPerProcess: number;
  stateDir: string;
  /**
   * Profile the publisher during the last run of each variant (bench/results/fanout-<size>-<variant>.cpuprofile),
   * and the gateway from the start of that publish to the last receive (…-gateway.cpuprofile).
   * The profiler costs CPU itself, so the figures of a profiled run are not the ones to quote.
   */
  profile?: boolean;
  progress: (message: string) => void;
}

export interface FanoutSample {
  /** From the start of the publish to the moment the last client received, ms. */
  timeToLastMs: number;
  /** CPU (user + system) of the publishing process per delivered message, µs. */
  cpuPerMessageUs: number;
  delivered: number;
}

export interface FanoutResult {
  size: number;
  variant: FanoutVariant;
  runs: FanoutSample[];
  median: FanoutSample;
  /** Self time of the publisher by component, from the profiled run (with `profile`). */
  profile?: ComponentTime[];
  /** Self time of the gateway process by component, from the start of that publish to the last receive. */
  gatewayProfile?: ComponentTime[];
}

const RESULTS_DIR = fileURLToPath(new URL('../results', import.meta.url));

type Publish = (tag: string) => Promise<DeliveryReport>;

export async function runFanout(options: FanoutOptions): Promise<FanoutResult[]> {
  const results: FanoutResult[] = [];
  for (const size of options.sizes) results.push(...(await runSize(size, options)));
  return results;
}

async function runSize(size: number, options: FanoutOptions): Promise<FanoutResult[]> {
  const room = `public:bench-${size}`;
  const gateway = startChild<GatewayIn, GatewayOut>('gateway.ts', {
    BENCH_GATEWAY: JSON.stringify({ tokens: 16, stateDir: options.stateDir }),
  });
  const clients: Child<ClientsIn, ClientsOut>[] = [];
  const senders: { destroy(): void }[] = [];
  try {
    const ready = await gateway.next((m): m is GatewayReady => m.type === 'ready', 60_000);
    const processes = Math.ceil(size / options.clientsPerProcess);
    options.progress(`fan-out ${size}: connecting ${size} clients in ${processes} processes`);
    for (let p = 0; p < processes; p++) {
      const connections = Math.floor(size / processes) + (p < size % processes ? 1 : 0);
      clients.push(
        startChild<ClientsIn, ClientsOut>('clients.ts', {
          BENCH_CLIENTS: JSON.stringify({ url: ready.url, tokens: ready.tokens, connections, concurrency: 32, room }),
        }),
      );
    }
    const opened = await Promise.all(
      clients.map((c) =>
        c.next((m): m is Extract<ClientsOut, { type: 'ready' }> => m.type === 'ready', 60_000 + size * 20),
      ),
    );
    const failed = opened.reduce((sum, o) => sum + o.failed, 0);
    if (failed > 0) throw new Error(`${failed} clients could not connect: ${opened.flatMap((o) => o.failures)[0]}`);

    const concurrency = HandlerSettings.parse({ tableName: ready.tableName }).fanoutConcurrency;
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: ready.dynamodbEndpoint }), {
      marshallOptions: { removeUndefinedValues: true },
    });
    const store = new DynamoConnectionStore({ client: documents, tableName: ready.tableName });
    const fast = new FastSender({ endpoint: ready.callbackUrl });
    senders.push(fast);
    // The production default today: one SDK client per endpoint, single attempt (lambdas/core/clients.ts).
    const sdk = new ManagementApiSender(
      new ApiGatewayManagementApiClient({ endpoint: ready.callbackUrl, maxAttempts: 1 }),
    );
    const naive = naiveClients(ready.callbackUrl, ready.dynamodbEndpoint);

    const viaFanOut =
      (sender: Sender): Publish =>
      async (tag) => {
        const report = await publish(
          { to: { rooms: [room] }, event: 'bench.fanout', data: { tag } },
          { store, sender, concurrency },
        );
        return Array.isArray(report) ? (report[0] as DeliveryReport) : report;
      };
    const naiveFrame = (tag: string) =>
      JSON.stringify({
        type: 'notification',
        event: 'bench.fanout',
        data: { tag },
        ts: Date.now(),
        id: randomUUID(),
        room,
      });
    const variants: Record<FanoutVariant, Publish> = {
      'fanOut + FastSender': viaFanOut(fast),
      'fanOut + SDK client': viaFanOut(sdk),
      'Scan + Promise.all': (tag) => scanThenPromiseAll(naive, ready.tableName, room, naiveFrame(tag)),
      'Scan + for…await': (tag) => scanThenSequential(naive, ready.tableName, room, naiveFrame(tag)),
    };

    // A warm container: clients built, credentials resolved, sockets open. A post to an unknown id is a 410.
    await Promise.allSettled([
      fast.post('warm-up', '{}'),
      sdk.post('warm-up', '{}'),
      naive.management.send(new PostToConnectionCommand({ ConnectionId: 'warm-up', Data: '{}' })),
      store.isMember(room, 'warm-up'),
    ]);

    // One untimed fan-out per variant first: a warm Lambda container has run its code before, and the
    // first run here would otherwise time V8 compiling it.
    for (const variant of FANOUT_VARIANTS) {
      const tag = randomUUID();
      for (const c of clients) c.send({ type: 'expect', tag });
      await variants[variant](tag);
      await Promise.all(
        clients.map((c) =>
          c.next(
            (m): m is Extract<ClientsOut, { type: 'received' }> => m.type === 'received' && m.tag === tag,
            120_000,
          ),
        ),
      );
    }
    options.progress(`fan-out ${size}: every variant warmed up`);

    const samples = new Map<FanoutVariant, FanoutSample[]>(FANOUT_VARIANTS.map((v) => [v, []]));
    const profiles = new Map<FanoutVariant, ComponentTime[]>();
    const gatewayProfiles = new Map<FanoutVariant, ComponentTime[]>();
    const session = options.profile ? new Session() : undefined;
    session?.connect();
    await session?.post('Profiler.enable');
    for (let run = 0; run < options.runs; run++) {
      // Rotating the order keeps a slow first or last slot (GC, a warming gateway) from favouring one variant.
      const order = FANOUT_VARIANTS.map((_, i) => FANOUT_VARIANTS[(i + run) % FANOUT_VARIANTS.length] as FanoutVariant);
      for (const variant of order) {
        const tag = randomUUID();
        for (const c of clients) c.send({ type: 'expect', tag });
        const startedAt = clock();
        const cpuBefore = process.cpuUsage();
        let report: DeliveryReport;
        const profiling = session !== undefined && run === options.runs - 1;
        const profileName = `fanout-${size}-${variant.replace(/\W+/g, '-').toLowerCase()}`;
        if (profiling) {
          gateway.send({ type: 'profile-start' });
          await gateway.next((m): m is Extract<GatewayOut, { type: 'profiling' }> => m.type === 'profiling');
        }
        if (session && profiling) {
          mkdirSync(RESULTS_DIR, { recursive: true });
          const file = join(RESULTS_DIR, `${profileName}.cpuprofile`);
          const [delivery, profile] = await profiled(session, file, () => variants[variant](tag));
          report = delivery;
          profiles.set(variant, summarizeProfile(profile));
        } else {
          report = await variants[variant](tag);
        }
        const cpu = cpuMicros(cpuBefore);
        const received = await Promise.all(
          clients.map((c) =>
            c.next(
              (m): m is Extract<ClientsOut, { type: 'received' }> => m.type === 'received' && m.tag === tag,
              120_000,
            ),
          ),
        );
        if (profiling) {
          // The gateway's profile runs to the last receive: it covers every post the gateway served.
          gateway.send({ type: 'profile', file: join(RESULTS_DIR, `${profileName}-gateway.cpuprofile`) });
          const { breakdown } = await gateway.next(
            (m): m is Extract<GatewayOut, { type: 'profiled' }> => m.type === 'profiled',
            60_000,
          );
          gatewayProfiles.set(variant, breakdown);
        }
        if (report.delivered !== size) {
          throw new Error(`${variant} delivered ${report.delivered} of ${size}: ${JSON.stringify(report)}`);
        }
        const lastAt = Math.max(...received.map((r) => r.lastAt));
        const sample = {
          timeToLastMs: lastAt - startedAt,
          cpuPerMessageUs: cpu / report.delivered,
          delivered: report.delivered,
        };
        samples.get(variant)?.push(sample);
        options.progress(
          `fan-out ${size} run ${run + 1}/${options.runs} ${variant}: ${sample.timeToLastMs.toFixed(0)} ms, ${sample.cpuPerMessageUs.toFixed(0)} µs/msg`,
        );
        await sleep(200);
      }
    }
    session?.disconnect();
    return FANOUT_VARIANTS.map((variant) => {
      const runs = samples.get(variant) ?? [];
      const profile = profiles.get(variant);
      const gatewayProfile = gatewayProfiles.get(variant);
      return {
        size,
        variant,
        ...(profile ? { profile } : {}),
        ...(gatewayProfile ? { gatewayProfile } : {}),
        runs,
        median: {
          timeToLastMs: median(runs.map((r) => r.timeToLastMs)),
          cpuPerMessageUs: median(runs.map((r) => r.cpuPerMessageUs)),
          delivered: median(runs.map((r) => r.delivered)),
        },
      };
    });
  } finally {
    for (const sender of senders) sender.destroy();
    // The state is thrown away: killing the gateway first spares it thousands of `$disconnect` calls.
    gateway.process.kill('SIGKILL');
    await Promise.all(clients.map((c) => c.stop()));
  }
}
