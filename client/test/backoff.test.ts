import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/backoff.js';

const settings = { initialDelay: 100, maxDelay: 1_000, factor: 2 };

describe('backoffDelay', () => {
  it('grows the ceiling by the factor per attempt and caps it at maxDelay', () => {
    // Prepare: a random source at the top of its range shows the ceiling itself.
    const top = () => 0.999_999;

    // Act
    const delays = [0, 1, 2, 3, 4, 5, 10, 2_000].map((attempt) => backoffDelay(attempt, settings, top));

    // Assess
    expect(delays).toEqual([99, 199, 399, 799, 999, 999, 999, 999]);
  });

  it('draws a fully jittered delay anywhere from zero to the ceiling', () => {
    expect(backoffDelay(3, settings, () => 0)).toBe(0);
    expect(backoffDelay(3, settings, () => 0.25)).toBe(200);
    expect(backoffDelay(3, settings, () => 0.5)).toBe(400);
  });

  it('stays within [0, ceiling) for any random draw', () => {
    for (let i = 0; i < 1_000; i += 1) {
      const delay = backoffDelay(i % 12, settings);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(1_000, 100 * 2 ** (i % 12)));
    }
  });

  it('treats a zero initial delay as no delay even at huge attempts', () => {
    expect(backoffDelay(5_000, { ...settings, initialDelay: 0 }, () => 0.5)).toBe(0);
  });
});
