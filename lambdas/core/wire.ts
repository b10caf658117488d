/**
 * The plain values of wire protocol v1: version, subprotocols, limits, the room name rule and the error codes.
 *
 * They live apart from the zod schemas in protocol.ts, which re-exports them, so the client SDK can import the
 * very same values without pulling a schema library into the browser bundle. This module imports nothing.
 */

export const PROTOCOL_VERSION = 1;

/** The WebSocket subprotocol the server selects; a browser fails the handshake if the server selects none. */
export const SUBPROTOCOL = `switchboard.v${PROTOCOL_VERSION}`;

/**
 * Browsers cannot set an Authorization header on a WebSocket upgrade, so a client offers its token as a second
 * subprotocol entry `bearer.<jwt>`: a JWT is base64url segments joined by dots, all legal in a subprotocol.
 */
export const BEARER_PREFIX = 'bearer.';

/** API Gateway refuses WebSocket messages over 128 KB (close 1009) and frames over 32 KB. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
export const MAX_FRAME_BYTES = 32 * 1024;
/**
 * Largest `data` payload a client may send or a producer may publish, as serialized JSON. It leaves room for
 * the envelope (room, sender, timestamps, ids) inside the 128 KB a `postToConnection` may carry.
 */
export const MAX_DATA_BYTES = 64 * 1024;

/** Room names: letters, digits and `_ . : @ | + = -`, 1 to 128 characters. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_.:@|+=-]{1,128}$/;
export const MAX_ROOM_NAME_LENGTH = 128;

/** Stable error codes. Clients branch on these; the message is for people and may change. */
export const ErrorCode = {
  /** The frame is not valid JSON. */
  INVALID_JSON: 'INVALID_JSON',
  /** The frame is JSON but does not match the schema of its action (types, missing or extra fields). */
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  /** `action` names no action of this protocol version. */
  UNKNOWN_ACTION: 'UNKNOWN_ACTION',
  /** The room name breaks the charset or length rule. */
  INVALID_ROOM: 'INVALID_ROOM',
  /** `data` is larger than MAX_DATA_BYTES. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The room policy does not let this identity into the room. */
  FORBIDDEN: 'FORBIDDEN',
  /** `send` to a room this connection has not joined. */
  NOT_IN_ROOM: 'NOT_IN_ROOM',
  /** The action is part of the protocol but this deployment does not offer it (yet). */
  UNSUPPORTED: 'UNSUPPORTED',
  /** Too many requests; retry later. Reserved: per-connection limits are not enforced yet. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** Something failed on the server. The message never carries internals. */
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
