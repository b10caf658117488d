/**
 * Runtime values the SDK needs from the wire protocol.
 *
 * They mirror `lambdas/core/protocol.ts` instead of importing it, because importing a value from there would
 * pull zod into the browser bundle. `client/test/constants.test.ts` asserts that every mirror equals the
 * protocol's value, and the `satisfies` clauses below make the compiler check the error code set too.
 */
import type { ErrorCode } from '../../lambdas/core/protocol.js';

export const PROTOCOL_VERSION = 1;

/** The subprotocol the server selects; a browser fails the handshake if the server selects none. */
export const SUBPROTOCOL = `switchboard.v${PROTOCOL_VERSION}`;

/**
 * Browsers cannot set an Authorization header on a WebSocket upgrade, so the token travels as a second offered
 * subprotocol. A JWT is base64url segments joined by dots, all of which are legal in a subprotocol token.
 */
export const BEARER_PREFIX = 'bearer.';

/** Largest `data` payload, as UTF-8 bytes of its JSON, that the server accepts in a `send`. */
export const MAX_DATA_BYTES = 64 * 1024;

/**
 * API Gateway closes a connection with 1009 when one frame is over 32 KB. Browsers (and `ws`) send each message
 * as a single frame, so the SDK refuses a request whose frame would be larger, instead of losing the connection.
 */
export const MAX_FRAME_BYTES = 32 * 1024;

/** Room names: letters, digits and `_ . : @ | + = -`, 1 to 128 characters. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_.:@|+=-]{1,128}$/;

/** The server's stable error codes, mirrored from protocol.ts. */
export const ServerErrorCode = {
  INVALID_JSON: 'INVALID_JSON',
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  UNKNOWN_ACTION: 'UNKNOWN_ACTION',
  INVALID_ROOM: 'INVALID_ROOM',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FORBIDDEN: 'FORBIDDEN',
  NOT_IN_ROOM: 'NOT_IN_ROOM',
  UNSUPPORTED: 'UNSUPPORTED',
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL: 'INTERNAL',
} as const satisfies { readonly [K in ErrorCode]: K };

/** Codes the SDK itself raises; they never appear on the wire. */
export const ClientErrorCode = {
  /** No reply arrived within the request's timeout. */
  TIMEOUT: 'TIMEOUT',
  /** The offline queue was full: this request was refused, or dropped to make room for a newer one. */
  QUEUE_OVERFLOW: 'QUEUE_OVERFLOW',
  /** A volatile send made while not connected; volatile sends are never queued. */
  NOT_CONNECTED: 'NOT_CONNECTED',
  /** The connection dropped after the request was sent; whether the server acted on it is unknown. */
  DISCONNECTED: 'DISCONNECTED',
  /** The client was closed with `close()`, or had been closed before the call. */
  CLOSED: 'CLOSED',
  /** The server refused the handshake (401/403, or the browser heuristic, see the README). No reconnect. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** The client gave up: reconnect attempts exhausted, reconnect switched off, or no socket could be made. */
  CONNECTION_FAILED: 'CONNECTION_FAILED',
  /** The token function threw or rejected; the attempt counts as a failed connection attempt. */
  TOKEN_ERROR: 'TOKEN_ERROR',
} as const;

export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];
export type SwitchboardErrorCode = ServerErrorCode | ClientErrorCode;
