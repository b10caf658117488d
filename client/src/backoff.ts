export interface BackoffSettings {
  /** Ceiling of the first delay, in ms. */
  readonly initialDelay: number;
  /** Largest ceiling, in ms. */
  readonly maxDelay: number;
  /** Growth of the ceiling per attempt. */
  readonly factor: number;
}

/**
 * Exponential backoff with full jitter: a delay drawn uniformly from [0, min(maxDelay, initialDelay *
 * factor^attempt)). Full jitter spreads the reconnects of many clients that a server-side event (a deploy, the
 * 2-hour cap, a regional blip) dropped at the same moment, instead of sending them back in synchronized waves.
 */
export function backoffDelay(attempt: number, settings: BackoffSettings, random: () => number = Math.random): number {
  // 0 * Infinity is NaN; a zero initial delay means "no delay" at every attempt.
  const growth = settings.initialDelay === 0 ? 0 : settings.initialDelay * settings.factor ** attempt;
  const ceiling = Math.min(settings.maxDelay, growth);
  return Math.floor(random() * ceiling);
}
