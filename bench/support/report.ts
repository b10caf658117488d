/** The bench's results, as JSON and as tables for people. */
import { cpus } from 'node:os';
import type { ColdStartResult } from '../scenarios/cold-start.js';
import type { ConnectRateResult } from '../scenarios/connect-rate.js';
import type { DynamoRequestsRow } from '../scenarios/dynamodb-requests.js';
import { BASELINES, type FanoutConcurrencyResult, type FanoutResult } from '../scenarios/fanout.js';

export interface Machine {
  cpus: number;
  model: string;
  node: string;
  platform: string;
}

export interface TargetCheck {
  name: string;
  value: number;
  unit: string;
  target: string;
  met: boolean;
}

export interface BenchResults {
  mode: 'full' | 'smoke';
  runs: number;
  machine: Machine;
  startedAt: string;
  durationSeconds: number;
  fanout?: FanoutResult[];
  /** `fanOut + FastSender` at each concurrency of `--concurrency`. */
  fanoutConcurrency?: FanoutConcurrencyResult[];
  /** Per room size: the faster naive baseline's time to last receive divided by ours (FastSender). */
  fanoutSpeedup?: { size: number; fasterBaseline: string; ratio: number; sdkSenderRatio: number }[];
  coldStart?: ColdStartResult;
  connectRate?: ConnectRateResult;
  dynamodb?: DynamoRequestsRow[];
  targets: TargetCheck[];
}

export function machine(): Machine {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

export function fanoutSpeedups(results: readonly FanoutResult[]): NonNullable<BenchResults['fanoutSpeedup']> {
  const sizes = [...new Set(results.map((r) => r.size))];
  return sizes.map((size) => {
    const of = (variant: string) => results.find((r) => r.size === size && r.variant === variant);
    const ours = of('fanOut + FastSender')?.median.timeToLastMs ?? Number.NaN;
    const sdk = of('fanOut + SDK client')?.median.timeToLastMs ?? Number.NaN;
    const baselines = BASELINES.map((variant) => ({ variant, ms: of(variant)?.median.timeToLastMs ?? Number.NaN }));
    const faster = baselines.reduce((a, b) => (b.ms < a.ms ? b : a));
    return { size, fasterBaseline: faster.variant, ratio: faster.ms / ours, sdkSenderRatio: faster.ms / sdk };
  });
}

export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const largest = Math.max(...(results.fanoutSpeedup ?? []).map((s) => s.size));
  const speedup = results.fanoutSpeedup?.find((s) => s.size === largest);
  if (speedup) {
    checks.push({
      name: `fan-out to ${largest}: faster naive baseline ÷ ours`,
      value: speedup.ratio,
      unit: '×',
      target: '≥ 3',
      met: speedup.ratio >= 3,
    });
  }
  const cpu = results.fanout?.find((r) => r.size === largest && r.variant === 'fanOut + FastSender');
  if (cpu) {
    checks.push({
      name: `publisher CPU per delivered message (${largest})`,
      value: cpu.median.cpuPerMessageUs,
      unit: 'µs',
      target: '≤ 150',
      met: cpu.median.cpuPerMessageUs <= 150,
    });
  }
  if (results.coldStart) {
    const handlers = results.coldStart.rows.filter((r) => !r.target.startsWith('baseline'));
    // Handlers deploy without source maps unless the `sourceMaps` setting asks for them.
    const worst = Math.max(...handlers.map((r) => r.importMs));
    checks.push({
      name: 'slowest handler import above bare Node (as deployed: no source maps)',
      value: worst,
      unit: 'ms',
      target: '≤ 40',
      met: worst <= 40,
    });
  }
  if (results.connectRate) {
    checks.push({
      name: 'connects per second',
      value: results.connectRate.median,
      unit: '/s',
      target: '≥ 500',
      met: results.connectRate.median >= 500,
    });
  }
  return checks;
}

function table(headers: string[], rows: (string | number)[][], rightAligned: number[] = []): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    `| ${r.map((cell, c) => (rightAligned.includes(c) ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (rightAligned.includes(c) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(headers), rule, ...cells.slice(1).map(line)].join('\n');
}

const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** Markdown tables, readable in a terminal and pasteable into docs/benchmarks.md. */
export function renderTables(results: BenchResults): string {
  const out: string[] = [];
  const m = results.machine;
  out.push(
    `switchboard bench (${results.mode}, median of ${results.runs} run${results.runs === 1 ? '' : 's'}) on ${m.cpus} × ${m.model}, Node ${m.node}, ${m.platform}; ${fixed(results.durationSeconds)} s`,
  );
  const fanout = results.fanout;
  if (fanout) {
    out.push('', '### Fan-out to one room');
    out.push(
      table(
        ['clients', 'variant', 'time to last receive (ms)', 'publisher CPU per message (µs)', 'vs faster baseline'],
        fanout.map((r) => {
          const baseline = Math.min(
            ...fanout
              .filter((b) => b.size === r.size && BASELINES.includes(b.variant))
              .map((b) => b.median.timeToLastMs),
          );
          return [
            r.size,
            r.variant,
            fixed(r.median.timeToLastMs),
            fixed(r.median.cpuPerMessageUs),
            `${fixed(baseline / r.median.timeToLastMs, 2)}×`,
          ];
        }),
        [0, 2, 3, 4],
      ),
    );
  }
  if (results.fanoutConcurrency) {
    out.push('', '### fanOut + FastSender by fan-out concurrency');
    out.push(
      table(
        ['clients', 'concurrency', 'time to last receive (ms)', 'publisher CPU per message (µs)', 'runs (ms)'],
        results.fanoutConcurrency.map((r) => [
          r.size,
          r.concurrency,
          fixed(r.median.timeToLastMs),
          fixed(r.median.cpuPerMessageUs),
          r.runs.map((s) => fixed(s.timeToLastMs)).join(', '),
        ]),
        [0, 1, 2, 3],
      ),
    );
  }
  for (const result of fanout ?? []) {
    if (result.gatewayProfile) {
      out.push('', `### Gateway self time by component: ${result.variant}, ${result.size} clients (profiled run)`);
      out.push(
        table(
          ['component', 'share', 'µs per message'],
          result.gatewayProfile
            .filter((p) => p.share >= 0.01)
            .map((p) => [p.component, `${fixed(p.share * 100, 1)} %`, fixed((p.ms * 1000) / result.size, 1)]),
          [1, 2],
        ),
      );
    }
    if (!result.profile) continue;
    out.push('', `### Publisher self time by component: ${result.variant}, ${result.size} clients (profiled run)`);
    out.push(
      table(
        ['component', 'share', 'µs per message'],
        result.profile
          .filter((p) => p.share >= 0.01)
          .map((p) => [p.component, `${fixed(p.share * 100, 1)} %`, fixed((p.ms * 1000) / result.size, 1)]),
        [1, 2],
      ),
    );
  }
  if (results.coldStart) {
    out.push('', `### Cold start (bare \`node -e 0\`: ${fixed(results.coldStart.bareNodeMs)} ms, subtracted)`);
    out.push(
      table(
        ['bundle', 'size (KiB)', 'source map (KiB)', 'import (ms)', 'import with --enable-source-maps (ms)'],
        results.coldStart.rows.map((r) => [
          r.target,
          fixed(r.bundleBytes / 1024),
          fixed(r.sourceMapBytes / 1024),
          fixed(r.importMs, 1),
          fixed(r.importWithSourceMapsMs, 1),
        ]),
        [1, 2, 3, 4],
      ),
    );
  }
  if (results.coldStart) {
    out.push('', '### What the bundles are made of (minified KiB)');
    out.push(
      table(
        ['bundle', 'largest parts'],
        results.coldStart.rows.map((r) => [
          r.target,
          r.largestParts.map((p) => `${p.part} ${fixed(p.bytes / 1024)}`).join(', '),
        ]),
      ),
    );
  }
  if (results.connectRate) {
    const c = results.connectRate;
    out.push('', '### Connect rate (authorizer with RS256 verification + `$connect` PutItem)');
    out.push(
      table(
        ['connections per run', 'handlers', 'connects/s (median)', 'runs'],
        [
          [
            c.connections,
            c.handlerWorkers > 0 ? `${c.handlerWorkers} worker thread(s) each` : "in the gateway's thread",
            fixed(c.median),
            c.runs.map((r) => fixed(r)).join(', '),
          ],
        ],
        [0, 2],
      ),
    );
  }
  if (results.connectRate?.gatewayProfile) {
    out.push('', '### Gateway process self time by component during connects (profiled run)');
    out.push(
      table(
        ['component', 'share'],
        results.connectRate.gatewayProfile
          .filter((p) => p.share >= 0.01)
          .map((p) => [p.component, `${fixed(p.share * 100, 1)} %`]),
        [1],
      ),
    );
  }
  if (results.dynamodb) {
    out.push('', '### DynamoDB requests per operation');
    out.push(
      table(
        ['operation', 'requests', 'by API'],
        results.dynamodb.map((r) => [
          r.operation,
          r.total,
          Object.entries(r.byOperation)
            .map(([op, n]) => `${op} ${n}`)
            .join(', '),
        ]),
        [1],
      ),
    );
  }
  if (results.targets.length > 0) {
    out.push('', '### Targets');
    out.push(
      table(
        ['target', 'measured', 'goal', 'met'],
        results.targets.map((t) => [
          t.name,
          `${fixed(t.value, t.unit === '×' ? 2 : 0)} ${t.unit}`,
          t.target,
          t.met ? 'yes' : 'NO',
        ]),
      ),
    );
  }
  return out.join('\n');
}
