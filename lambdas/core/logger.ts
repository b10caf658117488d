/**
 * The JSON logger every handler uses (Powertools Logger), and a per-invocation view of it that stamps every line
 * with the correlation id: the connection id for WebSocket routes, the request id otherwise.
 *
 * Never log a token or a whole message body: log their size or a field that identifies them instead.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';

export const SERVICE_NAME = 'switchboard';

/** The part of a logger the core uses, so a test can pass a spy. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export const rootLogger = new Logger({ serviceName: SERVICE_NAME });

type Level = keyof Log;
const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

/**
 * A logger for one invocation. Not `appendKeys` on the shared logger: the local gateway runs many invocations of
 * one handler concurrently in one process, and shared keys would mix their ids. Not `createChild` either: it builds
 * a new Logger (and Console) per invocation, ~155 µs of CPU on every call even when nothing is logged. This view
 * only adds the correlation keys to the lines that are actually written.
 */
export function invocationLogger(
  correlation: { connectionId?: string; requestId?: string },
  parent: Log = rootLogger,
): Log {
  const keys: LogAttributes = {};
  if (correlation.connectionId) keys.connectionId = correlation.connectionId;
  if (correlation.requestId) keys.requestId = correlation.requestId;
  const correlationId = correlation.connectionId ?? correlation.requestId;
  if (correlationId) keys.correlation_id = correlationId;
  const view = {} as Log;
  for (const level of LEVELS) {
    view[level] = (input: LogItemMessage, ...extra: LogItemExtraInput) =>
      parent[level](input, keys, ...extra.map(asAttributes));
  }
  return view;
}

/** Powertools takes an Error or a string only as the sole extra argument; alongside the keys they become attributes. */
function asAttributes(extra: Error | string | LogAttributes): LogAttributes {
  if (extra instanceof Error) return { error: extra };
  if (typeof extra === 'string') return { extra };
  return extra;
}

/** A logger that drops everything, for callers that pass no logger. */
export const silentLog: Log = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
