/**
 * Connect rate: new connections per second through the authorizer (real RS256 verification against the
 * gateway's JWKS) and `$connect` (a PutItem to dynalite), with the clients in separate processes.
 *
 * The gateway's 500/s account quota is raised for the run: the point is what this code sustains.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { type Child, startChild } from '../support/children.js';
import type { ComponentTime } from '../support/profile.js';
import { median } from '../support/stats.js';
import type { ClientsIn, ClientsOut, GatewayIn, GatewayOut, GatewayReady } from '../workers/protocol.js';

const RESULTS_DIR = fileURLToPath(new URL('../results', import.meta.url));

export interface ConnectRateOptions {
  connections: number;
  processes: number;
  /** Connection attempts in flight per process. */
  concurrency: number;
  runs: number;
  stateDir: string;
  /** Handlers in worker threads (`isolation: 'worker'`), this many per handler; 0 runs them in-process. */
  handlerWorkers: number;
  /** Profile the gateway process during the last run (bench/results/connect-rate-gateway.cpuprofile). */
  profile?: boolean;
  progress: (message: string) => void;
}

export interface ConnectRateResult {
  connections: number;
  /** Worker threads per handler; 0 when the handlers ran in the gateway's thread. */
  handlerWorkers: number;
  runs: number[];
  /** Connects per second, median of the runs. */
  median: number;
  /** Self time of the gateway process by component, from the profiled run (with `profile`). */
  gatewayProfile?: ComponentTime[];
}

type Ready = Extract<ClientsOut, { type: 'ready' }>;

export async function runConnectRate(options: ConnectRateOptions): Promise<ConnectRateResult> {
  const runs: number[] = [];
  let gatewayProfile: ComponentTime[] | undefined;
  for (let run = 0; run < options.runs; run++) {
    const { rate, profile } = await oneRun(options, options.profile === true && run === options.runs - 1);
    runs.push(rate);
    gatewayProfile ??= profile;
    options.progress(`connect rate run ${run + 1}/${options.runs}: ${rate.toFixed(0)} connects/s`);
  }
  return {
    connections: options.connections,
    handlerWorkers: options.handlerWorkers,
    runs,
    median: median(runs),
    ...(gatewayProfile ? { gatewayProfile } : {}),
  };
}

/** A fresh gateway per run, so no run pays for the `$disconnect` calls of the one before. */
async function oneRun(
  options: ConnectRateOptions,
  profile: boolean,
): Promise<{ rate: number; profile?: ComponentTime[] }> {
  const gateway = startChild<GatewayIn, GatewayOut>('gateway.ts', {
    BENCH_GATEWAY: JSON.stringify({ tokens: 64, stateDir: options.stateDir, handlerWorkers: options.handlerWorkers }),
    BENCH_GATEWAY_PROFILE: profile ? '1' : '0',
  });
  const clients: Child<ClientsIn, ClientsOut>[] = [];
  try {
    const ready = await gateway.next((m): m is GatewayReady => m.type === 'ready', 60_000);
    // A warm authorizer: the JWKS is fetched on the first verification and cached after it.
    await warmUp(ready.url, ready.tokens[0] as string);
    for (let p = 0; p < options.processes; p++) {
      const connections =
        Math.floor(options.connections / options.processes) + (p < options.connections % options.processes ? 1 : 0);
      clients.push(
        startChild<ClientsIn, ClientsOut>('clients.ts', {
          BENCH_CLIENTS: JSON.stringify({
            url: ready.url,
            tokens: ready.tokens,
            connections,
            concurrency: options.concurrency,
            waitForGo: true,
          }),
        }),
      );
    }
    // Every process has loaded before any starts connecting.
    await Promise.all(clients.map((c) => c.next((m): m is { type: 'loaded' } => m.type === 'loaded', 60_000)));
    for (const c of clients) c.send({ type: 'go' });
    const reports = await Promise.all(
      clients.map((c) => c.next((m): m is Ready => m.type === 'ready', 60_000 + options.connections * 20)),
    );
    const failed = reports.reduce((sum, r) => sum + r.failed, 0);
    if (failed > 0) throw new Error(`${failed} connects failed: ${reports.flatMap((r) => r.failures)[0]}`);
    const opened = reports.reduce((sum, r) => sum + r.opened, 0);
    const span = Math.max(...reports.map((r) => r.lastOpenAt)) - Math.min(...reports.map((r) => r.firstStartAt));
    const rate = (opened / span) * 1000;
    if (!profile) return { rate };
    mkdirSync(RESULTS_DIR, { recursive: true });
    gateway.send({ type: 'profile', file: join(RESULTS_DIR, 'connect-rate-gateway.cpuprofile') });
    const profiled = await gateway.next(
      (m): m is Extract<GatewayOut, { type: 'profiled' }> => m.type === 'profiled',
      60_000,
    );
    return { rate, profile: profiled.breakdown };
  } finally {
    gateway.process.kill('SIGKILL');
    await Promise.all(clients.map((c) => c.stop()));
  }
}

function warmUp(url: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['switchboard.v1', `bearer.${token}`]);
    ws.once('open', () => {
      ws.close(1000);
      resolve();
    });
    ws.once('error', reject);
  });
}
