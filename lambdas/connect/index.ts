/** `$connect`: records the connection of the identity the authorizer verified, and picks the subprotocol. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { getDocumentClient } from '../core/clients.js';
import { type HandlerSettings, loadConfig } from '../core/config.js';
import { type ConnectionStore, DynamoConnectionStore } from '../core/connections.js';
import { offeredSubprotocols, type WebSocketEvent, type WebSocketResult } from '../core/events.js';
import { identityFromRequestContext } from '../core/identity.js';
import { invocationLogger, rootLogger } from '../core/logger.js';
import { SUBPROTOCOL } from '../core/wire.js';

export interface ConnectDeps {
  store: ConnectionStore;
  /** Epoch milliseconds. */
  now: () => number;
  logger: Logger;
}

export type ConnectHandler = (event: WebSocketEvent, context?: Partial<Context>) => Promise<WebSocketResult>;

export function createHandler(settings: HandlerSettings, overrides: Partial<ConnectDeps> = {}): ConnectHandler {
  const store =
    overrides.store ?? new DynamoConnectionStore({ client: getDocumentClient(), tableName: settings.tableName });
  const now = overrides.now ?? Date.now;
  const logger = overrides.logger ?? rootLogger;
  return async (event) => {
    const { connectionId, requestId, connectedAt } = event.requestContext;
    const log = invocationLogger({ connectionId, requestId }, logger);
    try {
      const identity = identityFromRequestContext(event.requestContext);
      await store.putConnection({ connectionId, userId: identity.sub, connectedAt: connectedAt ?? now() });
      log.info('Connected', { sub: identity.sub });
    } catch (error) {
      // A non-2xx answer makes API Gateway refuse the upgrade, so no connection exists that the store lacks.
      log.error('Connect failed', error instanceof Error ? error : String(error));
      return { statusCode: 500 };
    }
    // Browsers fail the handshake unless the server picks one of the offered subprotocols. Only the protocol
    // is echoed: the `bearer.` entry carries the token.
    if (offeredSubprotocols(event.headers, event.multiValueHeaders).includes(SUBPROTOCOL)) {
      return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': SUBPROTOCOL } };
    }
    return { statusCode: 200 };
  };
}

let cached: ConnectHandler | undefined;

/** The Lambda entry point. Reads its configuration on the first invocation, not at import. */
export const handler: ConnectHandler = async (event, context) => {
  cached ??= createHandler(loadConfig());
  return cached(event, context);
};
