export type {
  JsonValue,
  MessageFrame,
  NotificationFrame,
  PongFrame,
  PresenceFrame,
  ServerFrame,
} from '../../lambdas/core/protocol.js';
export { backoffDelay } from './backoff.js';
export type { OverflowPolicy } from './bounded-queue.js';
export {
  type AckResult,
  type AuthFailureContext,
  type ConnectionState,
  type ReconnectOptions,
  type RequestOptions,
  type RequestPayload,
  type RequestResult,
  type SendOptions,
  type StateChange,
  SwitchboardClient,
  type SwitchboardClientOptions,
  type SwitchboardEvents,
  type TokenSource,
} from './client.js';
export {
  ClientErrorCode,
  MAX_DATA_BYTES,
  MAX_FRAME_BYTES,
  ROOM_NAME_PATTERN,
  ServerErrorCode,
  SUBPROTOCOL,
  type SwitchboardErrorCode,
} from './constants.js';
export { SwitchboardError } from './errors.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
