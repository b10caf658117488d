/**
 * How every handler is bundled: the one definition the construct's `NodejsFunction`s and the cold-start benchmark
 * (`bench/scenarios/cold-start.ts`) both use, so the benchmark measures exactly what is deployed. No CDK import
 * here, so the benchmark can read it without loading aws-cdk-lib.
 */
export const HANDLER_BUNDLING = {
  /** esbuild's target for the NODEJS_24_X runtime. */
  target: 'node24',
  minify: true,
  /** ESM: the runtime loads it as a module, and esbuild tree-shakes ESM dependencies best. */
  format: 'esm',
  mainFields: ['module', 'main'],
  // CommonJS dependencies bundled into an ES module still call `require` for Node built-ins.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  /** A source map, when enabled, carries names and lines only; the sources stay out of the deployment package. */
  sourcesContent: false,
  /**
   * The AWS SDK is bundled rather than taken from the runtime: the handlers run against the version they were
   * tested with, and one tree-shaken file loads faster than the runtime's full SDK.
   */
  externalModules: [] as string[],
} as const;
