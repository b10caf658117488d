/** `$disconnect`: removes the connection and its room memberships. Idempotent. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { getDocumentClient } from '../core/clients.js';
import { type HandlerSettings, loadConfig } from '../core/config.js';
import { type ConnectionStore, DynamoConnectionStore } from '../core/connections.js';
import type { WebSocketEvent, WebSocketResult } from '../core/events.js';
import { invocationLogger, rootLogger } from '../core/logger.js';

export interface DisconnectDeps {
  store: ConnectionStore;
  logger: Logger;
}

export type DisconnectHandler = (event: WebSocketEvent, context?: Partial<Context>) => Promise<WebSocketResult>;

/** WebSocket close reasons are at most 123 bytes; a longer value is not one. */
const MAX_REASON_LENGTH = 123;

export function createHandler(settings: HandlerSettings, overrides: Partial<DisconnectDeps> = {}): DisconnectHandler {
  const store =
    overrides.store ?? new DynamoConnectionStore({ client: getDocumentClient(), tableName: settings.tableName });
  const logger = overrides.logger ?? rootLogger;
  return async (event) => {
    const { connectionId, requestId, disconnectStatusCode, disconnectReason } = event.requestContext;
    const log = invocationLogger({ connectionId, requestId }, logger);
    try {
      // Removing a connection that is already gone (pruned by a fan-out's 410) deletes nothing and succeeds.
      const { rooms } = await store.removeConnection(connectionId);
      log.info('Disconnected', {
        rooms,
        closeCode: disconnectStatusCode ?? null,
        closeReason: disconnectReason?.slice(0, MAX_REASON_LENGTH) ?? null,
      });
      return { statusCode: 200 };
    } catch (error) {
      // API Gateway ignores this result; the records left behind expire by TTL and readers skip them.
      log.error('Disconnect cleanup failed', error instanceof Error ? error : String(error));
      return { statusCode: 500 };
    }
  };
}

let cached: DisconnectHandler | undefined;

/** The Lambda entry point. Reads its configuration on the first invocation, not at import. */
export const handler: DisconnectHandler = async (event, context) => {
  cached ??= createHandler(loadConfig());
  return cached(event, context);
};
