/**
 * Fan-out: posts one serialized payload to every connection of a target, with bounded concurrency.
 *
 * - A 410 (GoneException) means the connection closed without its `$disconnect` having cleaned up yet: the
 *   connection is pruned from the store and counted `gone`.
 * - Throttling (429) and 5xx are retried with exponential backoff and full jitter; the management client
 *   makes a single attempt, so these are the only retries.
 * - Anything else is counted `failed` and logged with the connection id: never dropped silently.
 */
import type { ConnectionPage, ConnectionStore } from './connections.js';
import { describeError } from './errors.js';
import { type Log, silentLog } from './logger.js';
import type { DeliveryReport } from './publish-input.js';

/** Serialized frame, built once per fan-out and shared by every post. */
export type Payload = string | Uint8Array;

export interface Sender {
  post(connectionId: string, payload: Payload): Promise<void>;
}

export interface RetryOptions {
  /** Tries per connection, the first included. */
  maxAttempts: number;
  /** Backoff before retry n is a random delay in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))). */
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1). */
  random: () => number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 4,
  baseDelayMs: 50,
  maxDelayMs: 2000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export interface FanOutOptions {
  sender: Sender;
  /** Where gone connections are pruned. */
  store: Pick<ConnectionStore, 'removeConnection'>;
  /** Most posts in flight at once. */
  concurrency: number;
  /** Connection ids that must not receive the payload (the sender's own, for example). */
  exclude?: Iterable<string>;
  retry?: Partial<RetryOptions>;
  log?: Log;
}

type Outcome = 'delivered' | 'gone' | 'failed';

const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'LimitExceededException',
  'ProvisionedThroughputExceededException',
]);

/** How a failed post is handled: prune, retry, or give up. */
export function classifySendError(error: unknown): 'gone' | 'retry' | 'fail' {
  const { name, $metadata } = (error ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = $metadata?.httpStatusCode;
  if (name === 'GoneException' || status === 410) return 'gone';
  if (status === 429 || (name !== undefined && THROTTLING_ERRORS.has(name))) return 'retry';
  if (status !== undefined && status >= 500 && status < 600) return 'retry';
  return 'fail';
}

/** The full-jitter backoff before retry `retry` (1 for the first retry). */
export function backoffDelay(retry: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>) {
  return options.random() * Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
}

/**
 * Delivers `payload` to every connection id in `pages`, each at most once, and reports what happened.
 * Pages are read as workers need them, so a large room is never held in memory at once.
 */
export async function fanOut(
  pages: AsyncIterable<ConnectionPage> | Iterable<ConnectionPage>,
  payload: Payload,
  options: FanOutOptions,
): Promise<DeliveryReport> {
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const log = options.log ?? silentLog;
  const report: DeliveryReport = { recipients: 0, delivered: 0, gone: 0, failed: 0 };
  const seen = new Set(options.exclude ?? []);
  const iterator =
    Symbol.asyncIterator in pages
      ? pages[Symbol.asyncIterator]()
      : (pages as Iterable<ConnectionPage>)[Symbol.iterator]();

  let queue: string[] = [];
  let head = 0;
  let exhausted = false;
  let refilling: Promise<void> | undefined;

  const refill = async () => {
    const next = await iterator.next();
    if (next.done) {
      exhausted = true;
      return;
    }
    queue = queue.slice(head);
    head = 0;
    for (const id of next.value) {
      if (seen.has(id)) continue;
      seen.add(id);
      queue.push(id);
    }
  };

  // Workers share one queue; only one of them reads the next page at a time.
  const nextId = async (): Promise<string | undefined> => {
    for (;;) {
      if (head < queue.length) return queue[head++];
      if (exhausted) return undefined;
      refilling ??= refill().finally(() => {
        refilling = undefined;
      });
      await refilling;
    }
  };

  const deliver = async (connectionId: string): Promise<Outcome> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await options.sender.post(connectionId, payload);
        return 'delivered';
      } catch (error) {
        const kind = classifySendError(error);
        if (kind === 'gone') {
          await prune(connectionId);
          return 'gone';
        }
        if (kind === 'retry' && attempt < retry.maxAttempts) {
          await retry.sleep(backoffDelay(attempt, retry));
          continue;
        }
        log.error('Delivery failed', { connectionId, attempts: attempt, error: describeError(error) });
        return 'failed';
      }
    }
  };

  const prune = async (connectionId: string) => {
    try {
      await options.store.removeConnection(connectionId);
    } catch (error) {
      // The connection is gone either way; its records expire by TTL if this cleanup fails.
      log.warn('Could not prune a gone connection', { connectionId, error: describeError(error) });
    }
  };

  const worker = async () => {
    for (let id = await nextId(); id !== undefined; id = await nextId()) {
      report.recipients++;
      report[await deliver(id)]++;
    }
  };

  const workers = Math.max(1, Math.floor(options.concurrency));
  await Promise.all(Array.from({ length: workers }, worker));
  return report;
}
