/** Counts the HTTP requests an SDK client sends, by operation, with a middleware on its stack. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export class RequestCounter {
  private readonly counts = new Map<string, number>();

  /**
   * Adds the counting middleware. It sits in the finalizeRequest step below the retry middleware, so an SDK
   * retry counts as the request it is: DynamoDB bills it.
   */
  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'benchRequestCounter' },
    );
  }

  reset(): void {
    this.counts.clear();
  }

  /** Requests since the last reset, by operation, and their total. */
  snapshot(): { total: number; byOperation: Record<string, number> } {
    const byOperation = Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
    return { total: [...this.counts.values()].reduce((sum, n) => sum + n, 0), byOperation };
  }
}
