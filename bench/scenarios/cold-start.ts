/**
 * Cold start: each handler bundled as the CDK construct bundles it, its size, and the time a fresh Node
 * process takes to import it, minus the time of a bare `node -e 0` (median of several samples).
 *
 * The esbuild options are the construct's own (`HANDLER_BUNDLING` in lib/bundling.ts): ESM, minified, `module`
 * before `main`, the `require` banner, everything bundled, the target of the NODEJS_24_X runtime. Handlers deploy
 * without source maps by default; the `sourceMaps` context setting adds them and `NODE_OPTIONS=--enable-source-maps`,
 * so the import is timed with and without it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { HANDLERS, type HandlerName } from '../../lambdas/core/routes.js';
import { HANDLER_BUNDLING } from '../../lib/bundling.js';
import { median } from '../support/stats.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT_DIR = join(ROOT, 'bench/results/cold-start');

/** What `NodejsFunction` passes to esbuild: the construct's own settings (lib/bundling.ts), with a source map. */
export const CDK_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: HANDLER_BUNDLING.target,
  format: HANDLER_BUNDLING.format,
  minify: HANDLER_BUNDLING.minify,
  sourcemap: true,
  sourcesContent: HANDLER_BUNDLING.sourcesContent,
  mainFields: [...HANDLER_BUNDLING.mainFields],
  banner: { js: HANDLER_BUNDLING.banner },
  external: [...HANDLER_BUNDLING.externalModules],
  logLevel: 'warning',
};

/** CDK's defaults for a Node 18+ runtime without `bundleAwsSDK`: the SDK comes from the runtime. */
const CDK_DEFAULT_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  external: ['@aws-sdk/*'],
  logLevel: 'warning',
};

export const BASELINE = 'baseline: default SDK clients';

export interface ColdStartOptions {
  samples: number;
  progress: (message: string) => void;
}

export interface ColdStartRow {
  target: HandlerName | typeof BASELINE;
  bundleBytes: number;
  sourceMapBytes: number;
  /** Median import time above bare Node, ms. */
  importMs: number;
  /** The same with `--enable-source-maps`, as deployed with the `sourceMaps` setting on. */
  importWithSourceMapsMs: number;
  /** The packages (or source folders) that make up most of the bundle, by minified bytes. */
  largestParts: { part: string; bytes: number }[];
}

export interface ColdStartResult {
  bareNodeMs: number;
  rows: ColdStartRow[];
}

export async function runColdStart(options: ColdStartOptions): Promise<ColdStartResult> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const bundles: Built[] = [];
  for (const name of Object.keys(HANDLERS) as HandlerName[]) {
    bundles.push({ target: name, ...(await bundle(resolve(ROOT, HANDLERS[name].entry), name, CDK_BUNDLING)) });
  }
  bundles.push({
    target: BASELINE,
    ...(await bundle(join(ROOT, 'bench/baselines/default-sdk-handler.ts'), 'baseline', CDK_DEFAULT_BUNDLING)),
  });
  options.progress(`cold start: ${bundles.length} bundles built, timing ${options.samples} imports each`);

  const bare: number[] = [];
  const plain = new Map<string, number[]>();
  const withMaps = new Map<string, number[]>();
  // Interleaved, so a slow moment of the machine spreads over every target instead of hitting one.
  for (let sample = 0; sample < options.samples; sample++) {
    bare.push(timeNode(['-e', '0']));
    for (const { target, file } of bundles) {
      const code = `import(${JSON.stringify(pathToFileURL(file).href)})`;
      push(plain, target, timeNode(['-e', code]));
      push(withMaps, target, timeNode(['--enable-source-maps', '-e', code]));
    }
  }
  const bareNodeMs = median(bare);
  return {
    bareNodeMs,
    rows: bundles.map(({ target, file, largestParts }) => ({
      target,
      largestParts,
      bundleBytes: bytesOf(file),
      sourceMapBytes: bytesOf(`${file}.map`),
      importMs: median(plain.get(target) ?? []) - bareNodeMs,
      importWithSourceMapsMs: median(withMaps.get(target) ?? []) - bareNodeMs,
    })),
  };
}

interface Built {
  target: ColdStartRow['target'];
  file: string;
  largestParts: ColdStartRow['largestParts'];
}

async function bundle(entry: string, name: string, options: BuildOptions): Promise<Omit<Built, 'target'>> {
  const dir = join(OUT_DIR, name);
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'index.mjs');
  const { metafile } = await build({ ...options, entryPoints: [entry], outfile, metafile: true });
  const parts = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const part = partOf(input);
      parts.set(part, (parts.get(part) ?? 0) + bytesInOutput);
    }
  }
  const largestParts = [...parts.entries()]
    .map(([part, bytes]) => ({ part, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 6);
  return { file: outfile, largestParts };
}

/** `node_modules/@scope/name/...` → `@scope/name`; a source file → its folder. */
function partOf(input: string): string {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (modules) return modules[1] as string;
  return input.split('/').slice(0, -1).join('/') || input;
}

/** Wall time of a fresh `node` process, ms. It must succeed: a failed import would time nothing. */
function timeNode(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    // Without NODE_OPTIONS from the caller (tsx's loader, say), which would be timed too.
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${result.stderr.toString().slice(-500)}`);
  return elapsed;
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

function bytesOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
