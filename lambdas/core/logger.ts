/**
 * The JSON logger every handler uses (Powertools Logger), with a child per invocation that carries the
 * correlation id: the connection id for WebSocket routes, the request id otherwise.
 *
 * Never log a token or a whole message body: log their size or a field that identifies them instead.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const SERVICE_NAME = 'switchboard';

/** The part of a logger the core uses, so a test can pass a spy. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export const rootLogger = new Logger({ serviceName: SERVICE_NAME });

/**
 * A logger for one invocation. A child rather than `appendKeys` on the shared logger: the local gateway runs
 * many invocations of one handler concurrently in one process, and shared keys would mix their ids.
 */
export function invocationLogger(
  correlation: { connectionId?: string; requestId?: string },
  parent: Logger = rootLogger,
): Logger {
  const persistentKeys: Record<string, string> = {};
  if (correlation.connectionId) persistentKeys.connectionId = correlation.connectionId;
  if (correlation.requestId) persistentKeys.requestId = correlation.requestId;
  const child = parent.createChild({ persistentKeys });
  const correlationId = correlation.connectionId ?? correlation.requestId;
  if (correlationId) child.setCorrelationId(correlationId);
  return child;
}

/** A logger that drops everything, for callers that pass no logger. */
export const silentLog: Log = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
