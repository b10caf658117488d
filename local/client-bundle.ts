/**
 * The client SDK as one browser ES module, bundled in memory by esbuild on first request, so the demo page
 * imports the same SDK an application would, with no build step and nothing written to disk.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPOSITORY_ROOT } from './handlers.js';

export const DEFAULT_CLIENT_ENTRY = resolve(REPOSITORY_ROOT, 'client/src/index.ts');

export type BundleResult = { ok: true; code: string } | { ok: false; reason: string };

export function createClientBundler(entry: string = DEFAULT_CLIENT_ENTRY): () => Promise<BundleResult> {
  let built: Promise<string> | undefined;
  return async () => {
    if (!existsSync(entry))
      return { ok: false, reason: 'The client SDK has not been written yet (client/src/index.ts)' };
    built ??= bundle(entry);
    try {
      return { ok: true, code: await built };
    } catch {
      // A failed build is retried on the next request, so fixing the source is enough.
      built = undefined;
      return { ok: false, reason: 'The client SDK failed to bundle; see the gateway log' };
    }
  };
}

async function bundle(entry: string): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    sourcemap: 'inline',
    logLevel: 'error',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}
