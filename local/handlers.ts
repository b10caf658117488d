/**
 * Loads the very handlers the stack deploys (entries from `HANDLERS` in routes.ts) and builds each with the
 * gateway's settings through its `createHandler`.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { HandlerSettings } from '../lambdas/core/config.js';
import { HANDLERS, type HandlerName } from '../lambdas/core/routes.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './events.js';

/** A Lambda handler as the gateway calls it. */
export type LambdaFunction = (event: unknown, context?: Context) => Promise<unknown>;
export type HandlerSet = Readonly<Record<HandlerName, LambdaFunction>>;

export const REPOSITORY_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

export class HandlerLoadError extends Error {
  override readonly name = 'HandlerLoadError';
}

/** Imports each handler entry that has no stand-in in `overrides`, and builds it with `settings`. */
export async function loadHandlers(
  settings: HandlerSettings,
  overrides: Partial<Record<HandlerName, LambdaFunction>> = {},
): Promise<HandlerSet> {
  const names = Object.keys(HANDLERS) as HandlerName[];
  const built = await Promise.all(
    names.map(async (name) => {
      const standIn = overrides[name];
      if (standIn) return [name, standIn] as const;
      const entry = resolve(REPOSITORY_ROOT, HANDLERS[name].entry);
      let module: { createHandler?: unknown };
      try {
        module = (await import(pathToFileURL(entry).href)) as { createHandler?: unknown };
      } catch (cause) {
        throw new HandlerLoadError(`Cannot load the ${name} handler from ${HANDLERS[name].entry}`, { cause });
      }
      if (typeof module.createHandler !== 'function') {
        throw new HandlerLoadError(`${HANDLERS[name].entry} does not export createHandler(settings)`);
      }
      return [name, module.createHandler(settings) as LambdaFunction] as const;
    }),
  );
  return Object.fromEntries(built) as Record<HandlerName, LambdaFunction>;
}

/** A Lambda context for one invocation, with the deadline the function's own timeout gives it. */
export function lambdaContext(name: HandlerName, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const functionName = `switchboard-local-${name}`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: String(HANDLERS[name].memorySize),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export type InvokeOutcome =
  | { kind: 'ok'; value: unknown; durationMs: number }
  | { kind: 'error'; error: unknown; durationMs: number }
  /** The function ran out of its own Lambda timeout. */
  | { kind: 'function-timeout'; durationMs: number }
  /** API Gateway stopped waiting (29 s integration timeout) before the function finished. */
  | { kind: 'integration-timeout'; durationMs: number };

/**
 * Calls a handler as Lambda behind API Gateway would: the function's own timeout (from HANDLERS) and the
 * caller's integration timeout both apply, whichever is shorter decides what the caller sees. The handler's
 * promise is left to settle on its own, as a timed-out Lambda is frozen rather than cancelled.
 */
export async function invokeHandler(
  name: HandlerName,
  fn: LambdaFunction,
  event: unknown,
  integrationTimeoutMs: number = Number.POSITIVE_INFINITY,
): Promise<InvokeOutcome> {
  const functionTimeoutMs = HANDLERS[name].timeoutSeconds * 1000;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<InvokeOutcome>((done) => {
    const functionFirst = functionTimeoutMs < integrationTimeoutMs;
    timer = setTimeout(
      () => done({ kind: functionFirst ? 'function-timeout' : 'integration-timeout', durationMs: elapsed() }),
      Math.min(functionTimeoutMs, integrationTimeoutMs),
    );
  });
  const run = (async (): Promise<InvokeOutcome> => {
    try {
      const value = await fn(event, lambdaContext(name, functionTimeoutMs));
      return { kind: 'ok', value, durationMs: elapsed() };
    } catch (error) {
      return { kind: 'error', error, durationMs: elapsed() };
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
