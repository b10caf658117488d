/**
 * API Gateway's WebSocket quotas, mirrored by the local gateway. Every one can be set shorter for tests.
 *
 * Sources: the API Gateway quotas page for WebSocket APIs (message 128 KB, frame 32 KB, idle 10 min,
 * connection 2 h, integration timeout 29 s, 500 new connections per second and 10,000 requests per second with
 * a burst of 5,000 per account and Region).
 */
import { MAX_FRAME_BYTES, MAX_MESSAGE_BYTES } from '../lambdas/core/protocol.js';

export interface GatewayLimits {
  /** A message over this closes the connection with 1009. @default - 128 KB */
  readonly maxMessageBytes: number;
  /** A single frame over this closes the connection with 1009; 0 switches the check off. @default - 32 KB */
  readonly maxFrameBytes: number;
  /** A connection with no message in either direction for this long is closed with 1001. @default - 10 minutes */
  readonly idleTimeoutMs: number;
  /** Every connection is closed with 1001 after this long. @default - 2 hours */
  readonly maxConnectionMs: number;
  /** A handler call taking longer fails as API Gateway's integration timeout does. @default - 29 seconds */
  readonly integrationTimeoutMs: number;
  /** New connections per second (token bucket rate and burst). @default - 500 */
  readonly connectionsPerSecond: number;
  /** Requests (upgrades, messages, management calls) per second. @default - 10,000 */
  readonly requestsPerSecond: number;
  /** Burst of the request bucket. @default - 5,000 */
  readonly requestBurst: number;
}

export const API_GATEWAY_LIMITS: GatewayLimits = {
  maxMessageBytes: MAX_MESSAGE_BYTES,
  maxFrameBytes: MAX_FRAME_BYTES,
  idleTimeoutMs: 10 * 60 * 1000,
  maxConnectionMs: 2 * 60 * 60 * 1000,
  integrationTimeoutMs: 29_000,
  connectionsPerSecond: 500,
  requestsPerSecond: 10_000,
  requestBurst: 5_000,
};

export function resolveLimits(overrides: Partial<GatewayLimits> = {}): GatewayLimits {
  const limits = { ...API_GATEWAY_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`Gateway limit ${name} must be a finite number >= 0, got ${value}`);
    }
  }
  return limits;
}

/** A token bucket: `rate` tokens per second, holding at most `burst`. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
