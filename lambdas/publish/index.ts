/**
 * publish: invoked directly (IAM `lambda:InvokeFunction`) by backend services with a PublishInput. Answers
 * with a DeliveryReport, or an array of them for a batch; invalid input fails with a PublishValidationError and
 * sends nothing.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { getDocumentClient, getSender } from '../core/clients.js';
import { type HandlerSettings, loadConfig } from '../core/config.js';
import { type ConnectionStore, DynamoConnectionStore } from '../core/connections.js';
import { ConfigurationError, PublishValidationError } from '../core/errors.js';
import type { RetryOptions, Sender } from '../core/fanout.js';
import { invocationLogger, rootLogger } from '../core/logger.js';
import type { PublishOutput } from '../core/publish-input.js';
import { publish } from '../core/publisher.js';

export interface PublishDeps {
  store: ConnectionStore;
  /** Default: a `FastSender` to the management API at `settings.callbackUrl`. */
  sender: Sender;
  /** Epoch milliseconds. */
  now: () => number;
  newId: () => string;
  retry: Partial<RetryOptions>;
  logger: Logger;
}

export type PublishHandler = (event: unknown, context?: Partial<Context>) => Promise<PublishOutput>;

export function createHandler(settings: HandlerSettings, overrides: Partial<PublishDeps> = {}): PublishHandler {
  const store =
    overrides.store ?? new DynamoConnectionStore({ client: getDocumentClient(), tableName: settings.tableName });
  const sender = overrides.sender ?? defaultSender(settings.callbackUrl);
  const logger = overrides.logger ?? rootLogger;
  return async (event, context) => {
    const log = invocationLogger({ requestId: context?.awsRequestId }, logger);
    try {
      return await publish(event, {
        store,
        sender,
        concurrency: settings.fanoutConcurrency,
        ...(overrides.retry ? { retry: overrides.retry } : {}),
        ...(overrides.now ? { now: overrides.now } : {}),
        ...(overrides.newId ? { newId: overrides.newId } : {}),
        log,
      });
    } catch (error) {
      if (error instanceof PublishValidationError) log.warn('Publish refused', { problems: error.problems });
      else log.error('Publish failed', error instanceof Error ? error : String(error));
      throw error;
    }
  };
}

function defaultSender(callbackUrl: string | undefined): Sender {
  // The publish function has no WebSocket event to derive the endpoint from.
  if (!callbackUrl) throw new ConfigurationError('The publish function needs callbackUrl (SWITCHBOARD_CALLBACK_URL)');
  return getSender(callbackUrl);
}

let cached: PublishHandler | undefined;

/** The Lambda entry point. Reads its configuration on the first invocation, not at import. */
export const handler: PublishHandler = async (event, context) => {
  cached ??= createHandler(loadConfig());
  return cached(event, context);
};
