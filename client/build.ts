/**
 * Bundles the SDK for browsers: `npx tsx client/build.ts` writes client/dist/switchboard-client.js (minified ESM)
 * and prints its minified and gzipped sizes.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

export const ENTRY = `${here}src/index.ts`;
export const OUTFILE = `${here}dist/switchboard-client.js`;

export interface BuildReport {
  readonly code: Uint8Array;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly metafile: Metafile;
}

export async function buildClient(options: { write?: boolean } = {}): Promise<BuildReport> {
  const result = await build({
    entryPoints: [ENTRY],
    outfile: OUTFILE,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const output = result.outputFiles.find((file) => file.path.endsWith('.js'));
  if (!output) throw new Error('esbuild produced no JavaScript output');
  if (options.write ?? true) {
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(`${here}dist`, { recursive: true });
    await writeFile(OUTFILE, output.contents);
  }
  return {
    code: output.contents,
    bytes: output.contents.byteLength,
    gzipBytes: gzipSync(output.contents, { level: 9 }).byteLength,
    metafile: result.metafile,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await buildClient();
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log(
    JSON.stringify({ outfile: OUTFILE, minified: report.bytes, gzipped: report.gzipBytes }),
    `\n${kb(report.bytes)} minified, ${kb(report.gzipBytes)} gzipped`,
  );
}
