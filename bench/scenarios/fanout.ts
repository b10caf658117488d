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
  /** Only these variants (all by default): for quick experiments; the ratios need both baselines. */
  variants?: readonly FanoutVariant[];
  /**
   * Also time `fanOut + FastSender` at each of these fan-out concurrencies, with the same clients, after the
   * variants (the variants run at the handlers' default, `fanoutConcurrency`).
   */
  concurrencies?: readonly number[];
  progress: (message: string) => void;
}

export interface FanoutConcurrencyResult {
  size: number;
  concurrency: number;
  runs: FanoutSample[];
  median: FanoutSample;
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

function medianSample(runs: readonly FanoutSample[]): FanoutSample {
  return {
    timeToLastMs: median(runs.map((r) => r.timeToLastMs)),
    cpuPerMessageUs: median(runs.map((r) => r.cpuPerMessageUs)),
    delivered: median(runs.map((r) => r.delivered)),
  };
}

const RESULTS_DIR = fileURLToPath(new URL('../results', import.meta.url));

type Publish = (tag: string) => Promise<DeliveryReport>;

export async function runFanout(
  options: FanoutOptions,
): Promise<{ variants: FanoutResult[]; concurrency: FanoutConcurrencyResult[] }> {
  const variants: FanoutResult[] = [];
  const concurrency: FanoutConcurrencyResult[] = [];
  for (const size of options.sizes) {
    const result = await runSize(size, options);
    variants.push(...result.variants);
    concurrency.push(...result.concurrency);
  }
  return { variants, concurrency };
}

async function runSize(
  size: number,
  options: FanoutOptions,
): Promise<{ variants: FanoutResult[]; concurrency: FanoutConcurrencyResult[] }> {
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
      (sender: Sender, atConcurrency = concurrency): Publish =>
      async (tag) => {
        const report = await publish(
          { to: { rooms: [room] }, event: 'bench.fanout', data: { tag } },
          { store, sender, concurrency: atConcurrency },
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

    const chosen = FANOUT_VARIANTS.filter((v) => options.variants?.includes(v) ?? true);
    const untimed = async (run: Publish) => {
      const tag = randomUUID();
      for (const c of clients) c.send({ type: 'expect', tag });
      await run(tag);
      await Promise.all(
        clients.map((c) =>
          c.next(
            (m): m is Extract<ClientsOut, { type: 'received' }> => m.type === 'received' && m.tag === tag,
            120_000,
          ),
        ),
      );
    };
    /**
     * One timed publish. With `profileName`, the publisher is profiled during the publish and the gateway from
     * its start to the last receive (every post it served); the profiler's own cost is in that sample.
     */
    const timed = async (
      run: Publish,
      profileName?: string,
    ): Promise<{ sample: FanoutSample; publisher?: ComponentTime[]; gatewaySide?: ComponentTime[] }> => {
      const tag = randomUUID();
      for (const c of clients) c.send({ type: 'expect', tag });
      if (profileName) {
        mkdirSync(RESULTS_DIR, { recursive: true });
        gateway.send({ type: 'profile-start' });
        await gateway.next((m): m is Extract<GatewayOut, { type: 'profiling' }> => m.type === 'profiling');
      }
      const startedAt = clock();
      const cpuBefore = process.cpuUsage();
      let report: DeliveryReport;
      let publisher: ComponentTime[] | undefined;
      if (session && profileName) {
        const [delivery, profile] = await profiled(session, join(RESULTS_DIR, `${profileName}.cpuprofile`), () =>
          run(tag),
        );
        report = delivery;
        publisher = summarizeProfile(profile);
      } else {
        report = await run(tag);
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
      let gatewaySide: ComponentTime[] | undefined;
      if (profileName) {
        gateway.send({ type: 'profile', file: join(RESULTS_DIR, `${profileName}-gateway.cpuprofile`) });
        const answer = await gateway.next(
          (m): m is Extract<GatewayOut, { type: 'profiled' }> => m.type === 'profiled',
          60_000,
        );
        gatewaySide = answer.breakdown;
      }
      if (report.delivered !== size) {
        throw new Error(`delivered ${report.delivered} of ${size}: ${JSON.stringify(report)}`);
      }
      const lastAt = Math.max(...received.map((r) => r.lastAt));
      const sample = {
        timeToLastMs: lastAt - startedAt,
        cpuPerMessageUs: cpu / report.delivered,
        delivered: report.delivered,
      };
      return {
        sample,
        ...(publisher ? { publisher } : {}),
        ...(gatewaySide ? { gatewaySide } : {}),
      };
    };

    // One untimed fan-out per variant first: a warm Lambda container has run its code before, and the
    // first run here would otherwise time V8 compiling it.
    for (const variant of chosen) await untimed(variants[variant]);
    options.progress(`fan-out ${size}: every variant warmed up`);

    const samples = new Map<FanoutVariant, FanoutSample[]>(FANOUT_VARIANTS.map((v) => [v, []]));
    const profiles = new Map<FanoutVariant, ComponentTime[]>();
    const gatewayProfiles = new Map<FanoutVariant, ComponentTime[]>();
    const session = options.profile ? new Session() : undefined;
    session?.connect();
    await session?.post('Profiler.enable');
    for (let run = 0; run < options.runs; run++) {
      // Rotating the order keeps a slow first or last slot (GC, a warming gateway) from favouring one variant.
      const order = chosen.map((_, i) => chosen[(i + run) % chosen.length] as FanoutVariant);
      for (const variant of order) {
        const profileName =
          session && run === options.runs - 1
            ? `fanout-${size}-${variant.replace(/\W+/g, '-').toLowerCase()}`
            : undefined;
        const { sample, publisher, gatewaySide } = await timed(variants[variant], profileName);
        if (publisher) profiles.set(variant, publisher);
        if (gatewaySide) gatewayProfiles.set(variant, gatewaySide);
        samples.get(variant)?.push(sample);
        options.progress(
          `fan-out ${size} run ${run + 1}/${options.runs} ${variant}: ${sample.timeToLastMs.toFixed(0)} ms, ${sample.cpuPerMessageUs.toFixed(0)} µs/msg`,
        );
        await sleep(200);
      }
    }
    session?.disconnect();

    const sweep = options.concurrencies ?? [];
    const sweepSamples = new Map<number, FanoutSample[]>(sweep.map((c) => [c, []]));
    for (const c of sweep) await untimed(viaFanOut(fast, c));
    for (let run = 0; run < (sweep.length > 0 ? options.runs : 0); run++) {
      for (let i = 0; i < sweep.length; i++) {
        const c = sweep[(i + run) % sweep.length] as number;
        const { sample } = await timed(viaFanOut(fast, c));
        sweepSamples.get(c)?.push(sample);
        options.progress(
          `fan-out ${size} run ${run + 1}/${options.runs} FastSender at concurrency ${c}: ${sample.timeToLastMs.toFixed(0)} ms, ${sample.cpuPerMessageUs.toFixed(0)} µs/msg`,
        );
        await sleep(200);
      }
    }
    const concurrencyResults = sweep.map((c) => {
      const runs = sweepSamples.get(c) ?? [];
      return { size, concurrency: c, runs, median: medianSample(runs) };
    });

    const variantResults = chosen.map((variant) => {
      const runs = samples.get(variant) ?? [];
      const profile = profiles.get(variant);
      const gatewayProfile = gatewayProfiles.get(variant);
      return {
        size,
        variant,
        ...(profile ? { profile } : {}),
        ...(gatewayProfile ? { gatewayProfile } : {}),
        runs,
        median: medianSample(runs),
      };
    });
    return { variants: variantResults, concurrency: concurrencyResults };
  } finally {
    for (const sender of senders) sender.destroy();
    // The state is thrown away: killing the gateway first spares it thousands of `$disconnect` calls.
    gateway.process.kill('SIGKILL');
    await Promise.all(clients.map((c) => c.stop()));
  }
}
