/**
 * Runs `npm run bench -- --smoke --json` so the bench cannot rot: every scenario runs at tiny sizes and
 * must produce well-formed results. Nothing here asserts a timing; the machine running CI decides those.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/support/report.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const positive = (value: number) => Number.isFinite(value) && value > 0;

describe('npm run bench -- --smoke', () => {
  let results: BenchResults;

  beforeAll(async () => {
    const { code, stdout, stderr } = await runBench(['--smoke', '--json']);
    expect(code, stderr.slice(-2000)).toBe(0);
    results = JSON.parse(stdout) as BenchResults;
  });

  it('describes the machine it ran on', () => {
    expect(results.mode).toBe('smoke');
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
  });

  it('delivers every fan-out variant to every client of the room', () => {
    const variants = new Set(results.fanout?.map((r) => r.variant));
    expect(variants).toEqual(
      new Set(['fanOut + FastSender', 'fanOut + SDK client', 'Scan + Promise.all', 'Scan + for…await']),
    );
    for (const result of results.fanout ?? []) {
      expect(result.median.delivered).toBe(result.size);
      expect(positive(result.median.timeToLastMs)).toBe(true);
      expect(positive(result.median.cpuPerMessageUs)).toBe(true);
    }
    for (const speedup of results.fanoutSpeedup ?? []) expect(positive(speedup.ratio)).toBe(true);
  });

  it('delivers to every client at each fan-out concurrency of the sweep', () => {
    expect(results.fanoutConcurrency?.map((r) => r.concurrency)).toEqual([2, 8]);
    for (const result of results.fanoutConcurrency ?? []) {
      expect(result.median.delivered).toBe(result.size);
      expect(positive(result.median.timeToLastMs)).toBe(true);
      expect(positive(result.median.cpuPerMessageUs)).toBe(true);
    }
  });

  it('bundles every handler and the baseline, and times their import', () => {
    const targets = results.coldStart?.rows.map((r) => r.target);
    expect(targets).toEqual([
      'authorizer',
      'connect',
      'disconnect',
      'default',
      'publish',
      'baseline: default SDK clients',
    ]);
    for (const row of results.coldStart?.rows ?? []) {
      expect(row.bundleBytes).toBeGreaterThan(0);
      expect(Number.isFinite(row.importMs)).toBe(true);
      expect(Number.isFinite(row.importWithSourceMapsMs)).toBe(true);
    }
    expect(positive(results.coldStart?.bareNodeMs ?? Number.NaN)).toBe(true);
  });

  it('measures a connect rate', () => {
    expect(results.connectRate?.runs).toHaveLength(1);
    expect(positive(results.connectRate?.median ?? Number.NaN)).toBe(true);
  });

  it('counts DynamoDB requests per operation, by API', () => {
    const rows = new Map(results.dynamodb?.map((r) => [r.operation, r]));
    expect(rows.get('connect')?.byOperation).toEqual({ PutItem: 1 });
    expect(rows.get('join')?.byOperation).toEqual({ BatchWriteItem: 1 });
    for (const row of results.dynamodb ?? []) {
      expect(row.total).toBe(Object.values(row.byOperation).reduce((sum, n) => sum + n, 0));
    }
  });

  it('checks each target and says whether it was met', () => {
    expect(results.targets.map((t) => t.target)).toEqual(['≥ 3', '≤ 150', '≤ 40', '≥ 500']);
    for (const target of results.targets) expect(typeof target.met).toBe('boolean');
  });
});

describe('npm run bench usage', () => {
  it('refuses an unknown scenario with a usage message', async () => {
    const { code, stderr } = await runBench(['--only', 'nonsense']);

    expect(code).toBe(2);
    expect(stderr).toContain('--only takes fanout, cold-start, connect-rate, dynamodb');
  });
});
