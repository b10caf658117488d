/**
 * `isolation: 'worker'`: each handler bundled as CDK deploys it (`HANDLER_BUNDLING`, lib/bundling.ts) and run
 * in worker threads, off the gateway's event loop.
 *
 * Two gains over running the TypeScript sources in the gateway's thread: the code that runs is the deployed
 * bundle (one minified ESM file with the SDK inside), and the handlers' CPU (JWT verification, the SDK's
 * per-call machinery) no longer queues behind WebSocket and HTTP work on one event loop. Timeouts stay on the
 * gateway's side (`invokeHandler`), so a timed-out invocation keeps running in its worker, as before.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import { build } from 'esbuild';
import type { HandlerSettings } from '../lambdas/core/config.js';
import { HANDLERS, type HandlerName } from '../lambdas/core/routes.js';
import { HANDLER_BUNDLING } from '../lib/bundling.js';
import { ENDPOINT_VARIABLE } from './dynamodb.js';
import { HandlerLoadError, type HandlerSet, type LambdaFunction, REPOSITORY_ROOT } from './handlers.js';

const WORKER_FILE = resolve(REPOSITORY_ROOT, 'local/handler-worker.mjs');

/** The environment a worker's handler builds its clients from: what the in-process path reads too. */
const FORWARDED_VARIABLES = [ENDPOINT_VARIABLE, 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

export interface IsolatedHandlers {
  readonly handlers: HandlerSet;
  /** Thread ids of the workers still running. */
  threadIds(): number[];
  /** Terminates every worker (invocations still running fail). */
  close(): Promise<void>;
}

export interface IsolationOptions {
  /** Workers per handler; invocations go to them in turn. @default 1 */
  readonly workersPerHandler?: number;
  /** Stand-ins run in the gateway's thread: a function cannot be sent to a worker. */
  readonly overrides?: Partial<Record<HandlerName, LambdaFunction>>;
}

type Answer =
  | { type: 'ready' }
  | { type: 'failed'; error: { name: string; message: string } }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: { name: string; message: string } };

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Bundles every handler without a stand-in, starts its workers and waits until each has built its handler. */
export async function startIsolatedHandlers(
  settings: HandlerSettings,
  options: IsolationOptions = {},
): Promise<IsolatedHandlers> {
  const perHandler = options.workersPerHandler ?? 1;
  if (!Number.isInteger(perHandler) || perHandler < 1) {
    throw new RangeError(`workersPerHandler must be a whole number ≥ 1, got ${perHandler}`);
  }
  const overrides = options.overrides ?? {};
  const names = (Object.keys(HANDLERS) as HandlerName[]).filter((name) => !overrides[name]);
  const workers: Worker[] = [];
  const close = async () => {
    await Promise.all(workers.map((worker) => worker.terminate()));
    workers.length = 0;
  };
  try {
    const outdir = names.length > 0 ? await bundle(names) : '';
    const environment = Object.fromEntries(
      FORWARDED_VARIABLES.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])),
    );
    const built = await Promise.all(
      names.map(async (name) => {
        const pool = await Promise.all(
          Array.from({ length: perHandler }, () =>
            startWorker(name, pathToFileURL(join(outdir, `${name}.mjs`)).href, settings, environment, workers),
          ),
        );
        let next = 0;
        const fn: LambdaFunction = (event, context) => {
          const worker = pool[next++ % pool.length] as HandlerWorker;
          return worker.invoke(event, context);
        };
        return [name, fn] as const;
      }),
    );
    return {
      handlers: { ...overrides, ...Object.fromEntries(built) } as HandlerSet,
      threadIds: () => workers.map((worker) => worker.threadId).filter((id) => id >= 0),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Bundles the handlers into a folder named after their content, under the system's temp folder: a gateway
 * killed without `close()` (the bench kills its gateways) leaves nothing new behind, and the same code is
 * written once. Returns the folder.
 */
async function bundle(names: HandlerName[]): Promise<string> {
  let files: { path: string; contents: Uint8Array }[];
  try {
    ({ outputFiles: files } = await build({
      entryPoints: Object.fromEntries(names.map((name) => [name, resolve(REPOSITORY_ROOT, HANDLERS[name].entry)])),
      outdir: '/',
      write: false,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      target: HANDLER_BUNDLING.target,
      format: HANDLER_BUNDLING.format,
      minify: HANDLER_BUNDLING.minify,
      mainFields: [...HANDLER_BUNDLING.mainFields],
      banner: { js: HANDLER_BUNDLING.banner },
      external: [...HANDLER_BUNDLING.externalModules],
      logLevel: 'silent',
    }));
  } catch (cause) {
    throw new HandlerLoadError(`Cannot bundle the handlers (${names.join(', ')})`, { cause });
  }
  const hash = createHash('sha256');
  for (const file of files) hash.update(basename(file.path)).update(file.contents);
  const outdir = join(tmpdir(), 'switchboard-handlers', hash.digest('hex').slice(0, 16));
  await mkdir(outdir, { recursive: true });
  // Written under a unique name and renamed: gateways starting at once never import a half-written file.
  await Promise.all(
    files.map(async (file) => {
      const target = join(outdir, basename(file.path));
      const partial = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      await writeFile(partial, file.contents);
      await rename(partial, target);
    }),
  );
  return outdir;
}

interface HandlerWorker {
  invoke(event: unknown, context?: Context): Promise<unknown>;
}

async function startWorker(
  name: HandlerName,
  bundleUrl: string,
  settings: HandlerSettings,
  environment: Record<string, string | undefined>,
  registry: Worker[],
): Promise<HandlerWorker> {
  const worker = new Worker(WORKER_FILE, { workerData: { bundle: bundleUrl, settings, environment } });
  registry.push(worker);
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let ready: Pending | undefined;
  const started = new Promise<unknown>((resolve, reject) => {
    ready = { resolve, reject };
  });
  const failAll = (error: Error) => {
    ready?.reject(error);
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  worker.on('message', (answer: Answer) => {
    if (answer.type === 'ready') return ready?.resolve(undefined);
    if (answer.type === 'failed') {
      return ready?.reject(new HandlerLoadError(`Cannot start the ${name} handler: ${answer.error.message}`));
    }
    const waiter = pending.get(answer.id);
    if (!waiter) return;
    pending.delete(answer.id);
    if (answer.ok) waiter.resolve(answer.value);
    else waiter.reject(rebuildError(answer.error));
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`The ${name} handler's worker exited (${code})`)));
  await started;
  ready = undefined;
  return {
    invoke: (event, context) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, event, ...contextFields(context) });
      }),
  };
}

/** The error as the handler threw it, as far as Lambda would report it: the name and the message. */
function rebuildError(described: { name: string; message: string }): Error {
  const error = new Error(described.message);
  error.name = described.name;
  return error;
}

/** A Lambda context without its functions (they cannot be cloned), and the deadline to rebuild them from. */
function contextFields(context: Context | undefined): { context: Record<string, unknown>; deadline: number } {
  if (!context) return { context: {}, deadline: Number.MAX_SAFE_INTEGER };
  const fields = Object.fromEntries(Object.entries(context).filter(([, value]) => typeof value !== 'function'));
  return { context: fields, deadline: Date.now() + context.getRemainingTimeInMillis() };
}
