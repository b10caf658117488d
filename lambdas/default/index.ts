/**
 * `$default`: wire protocol v1 (join, leave, send, ping, resume). A two-way route: the returned `body` is the
 * reply API Gateway sends back to the calling connection, so replies cost no `@connections` call.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { callbackUrlFromRequestContext, getDocumentClient, getSender } from '../core/clients.js';
import { type HandlerSettings, loadConfig } from '../core/config.js';
import { type ConnectionStore, DynamoConnectionStore } from '../core/connections.js';
import { ConfigurationError } from '../core/errors.js';
import type { WebSocketEvent, WebSocketResult } from '../core/events.js';
import type { RetryOptions, Sender } from '../core/fanout.js';
import { identityFromRequestContext } from '../core/identity.js';
import { invocationLogger, rootLogger } from '../core/logger.js';
import { ErrorCode, type ServerFrame } from '../core/protocol.js';
import { handleFrame, requestIdOfFrame } from '../core/protocol-handler.js';
import { createDefaultRoomPolicy, type RoomPolicy } from '../core/room-policy.js';

export interface DefaultDeps {
  store: ConnectionStore;
  /** Posts messages to room members. Default: a `FastSender` to the management API at `settings.callbackUrl`. */
  sender: Sender;
  policy: RoomPolicy;
  /** Epoch milliseconds. */
  now: () => number;
  newId: () => string;
  retry: Partial<RetryOptions>;
  logger: Logger;
}

export type DefaultHandler = (event: WebSocketEvent, context?: Partial<Context>) => Promise<WebSocketResult>;

export function createHandler(settings: HandlerSettings, overrides: Partial<DefaultDeps> = {}): DefaultHandler {
  const store =
    overrides.store ?? new DynamoConnectionStore({ client: getDocumentClient(), tableName: settings.tableName });
  const policy = overrides.policy ?? createDefaultRoomPolicy({ roomsClaim: settings.roomsClaim });
  const logger = overrides.logger ?? rootLogger;
  return async (event) => {
    const { connectionId, requestId } = event.requestContext;
    const log = invocationLogger({ connectionId, requestId }, logger);
    let identity: ReturnType<typeof identityFromRequestContext>;
    try {
      identity = identityFromRequestContext(event.requestContext);
    } catch (error) {
      log.error('Frame without identity', error instanceof Error ? error : String(error));
      return reply({
        type: 'error',
        id: requestIdOfFrame(event),
        code: ErrorCode.INTERNAL,
        message: 'The server could not identify you.',
      });
    }
    const frame = await handleFrame(event, {
      connectionId,
      identity,
      store,
      sender:
        overrides.sender ?? senderFor(settings.callbackUrl ?? callbackUrlFromRequestContext(event.requestContext)),
      policy,
      concurrency: settings.fanoutConcurrency,
      ...(overrides.retry ? { retry: overrides.retry } : {}),
      ...(overrides.now ? { now: overrides.now } : {}),
      ...(overrides.newId ? { newId: overrides.newId } : {}),
      log,
    });
    return reply(frame);
  };
}

function reply(frame: ServerFrame | undefined): WebSocketResult {
  return frame === undefined ? { statusCode: 200 } : { statusCode: 200, body: JSON.stringify(frame) };
}

function senderFor(endpoint: string | undefined): Sender {
  if (endpoint) return getSender(endpoint);
  return {
    post: () =>
      Promise.reject(new ConfigurationError('No management endpoint: set callbackUrl (SWITCHBOARD_CALLBACK_URL)')),
  };
}

let cached: DefaultHandler | undefined;

/** The Lambda entry point. Reads its configuration on the first invocation, not at import. */
export const handler: DefaultHandler = async (event, context) => {
  cached ??= createHandler(loadConfig());
  return cached(event, context);
};
