/**
 * Runtime values the SDK needs from the wire protocol, imported from `lambdas/core/wire.ts`, the one definition
 * the server uses too. That module imports nothing, so the browser bundle carries no schema library.
 */
import { ErrorCode } from '../../lambdas/core/wire.js';

export {
  BEARER_PREFIX,
  MAX_DATA_BYTES,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  ROOM_NAME_PATTERN,
  SUBPROTOCOL,
} from '../../lambdas/core/wire.js';

/** The server's stable error codes. */
export const ServerErrorCode = ErrorCode;

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
