/** Fake Senders and SDK-shaped errors for fan-out tests. */
import { GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Payload, Sender } from '../../lambdas/core/fanout.js';

/** Records every successful post; throws the errors queued for a connection id first, one per post. */
export class RecordingSender implements Sender {
  readonly posts: { connectionId: string; payload: string }[] = [];
  readonly attempts = new Map<string, number>();
  private readonly failures = new Map<string, unknown[]>();

  failNext(connectionId: string, ...errors: unknown[]): this {
    this.failures.set(connectionId, [...(this.failures.get(connectionId) ?? []), ...errors]);
    return this;
  }

  async post(connectionId: string, payload: Payload): Promise<void> {
    this.attempts.set(connectionId, (this.attempts.get(connectionId) ?? 0) + 1);
    const error = this.failures.get(connectionId)?.shift();
    if (error !== undefined) throw error;
    this.posts.push({ connectionId, payload: typeof payload === 'string' ? payload : Buffer.from(payload).toString() });
  }

  recipients(): string[] {
    return this.posts.map((post) => post.connectionId).sort();
  }
}

export const goneError = () => new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } });

/** An error shaped like an AWS SDK service exception. */
export function serviceError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error(name), {
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
  });
}
