/**
 * Wire protocol v1: the one definition of every frame a client and the server exchange.
 *
 * Handlers validate with these schemas, the client SDK takes its types from them (type-only imports, so the
 * browser bundle carries no schema library), and `docs/asyncapi.json` is generated from them.
 *
 * Compatibility rule: v1 may gain optional fields and new frame types; it never changes or removes one.
 * Clients ignore server frames whose `type` they do not know.
 */
import * as z from 'zod/mini';
import './zod-locale.js';
import { ErrorCode, ROOM_NAME_PATTERN } from './wire.js';

export {
  BEARER_PREFIX,
  ErrorCode,
  MAX_DATA_BYTES,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_ROOM_NAME_LENGTH,
  PROTOCOL_VERSION,
  ROOM_NAME_PATTERN,
  SUBPROTOCOL,
} from './wire.js';

/** A request id chosen by the client, echoed in the single ack or error that answers it. */
export const RequestId = z.union([
  z.string().check(z.minLength(1), z.maxLength(64)),
  z.int().check(z.nonnegative(), z.maximum(Number.MAX_SAFE_INTEGER)),
]);
export type RequestId = z.infer<typeof RequestId>;

export const RoomName = z
  .string()
  .check(z.regex(ROOM_NAME_PATTERN, 'room names are 1-128 characters of A-Z a-z 0-9 _ . : @ | + = -'));

/** Any JSON value. */
export const JsonValue: z.ZodMiniType<JsonValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(JsonValue), z.record(z.string(), JsonValue)]),
);
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------------------------
// Client to server
// ---------------------------------------------------------------------------------------------------------

export const JoinRequest = z.strictObject({ action: z.literal('join'), room: RoomName, id: z.optional(RequestId) });
export const LeaveRequest = z.strictObject({ action: z.literal('leave'), room: RoomName, id: z.optional(RequestId) });
export const SendRequest = z.strictObject({
  action: z.literal('send'),
  room: RoomName,
  data: JsonValue,
  excludeSelf: z.optional(z.boolean()),
  id: z.optional(RequestId),
});
export const PingRequest = z.strictObject({ action: z.literal('ping'), id: z.optional(RequestId) });
/**
 * Asks for messages missed while disconnected: `since` maps a room to the last `seq` the client saw.
 * Durable delivery is not deployed yet, so the server answers UNSUPPORTED; clients treat that as "nothing to
 * replay".
 */
export const ResumeRequest = z.strictObject({
  action: z.literal('resume'),
  since: z.record(RoomName, z.int().check(z.nonnegative())),
  id: z.optional(RequestId),
});

export const ClientFrame = z.discriminatedUnion('action', [
  JoinRequest,
  LeaveRequest,
  SendRequest,
  PingRequest,
  ResumeRequest,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type ClientAction = ClientFrame['action'];
export const CLIENT_ACTIONS = ClientFrame._zod.def.options.map(
  (option) => option.shape.action._zod.def.values[0],
) as readonly ClientAction[];

export type JoinRequest = z.infer<typeof JoinRequest>;
export type LeaveRequest = z.infer<typeof LeaveRequest>;
export type SendRequest = z.infer<typeof SendRequest>;
export type PingRequest = z.infer<typeof PingRequest>;
export type ResumeRequest = z.infer<typeof ResumeRequest>;

// ---------------------------------------------------------------------------------------------------------
// Server to client
// ---------------------------------------------------------------------------------------------------------

export const AckFrame = z.strictObject({
  type: z.literal('ack'),
  id: RequestId,
  result: z.record(z.string(), JsonValue),
});
export const ErrorFrame = z.strictObject({
  type: z.literal('error'),
  id: z.nullable(RequestId),
  code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
});
export const MessageFrame = z.strictObject({
  type: z.literal('message'),
  room: RoomName,
  /** The sender's verified `sub`, taken from the authorizer context, never from the client's frame. */
  from: z.string(),
  data: JsonValue,
  /** Server time in epoch milliseconds. */
  ts: z.int(),
  /** Unique message id, for de-duplication. */
  id: z.string(),
  /** Per-room sequence number, present once durable delivery is deployed. */
  seq: z.optional(z.int().check(z.nonnegative())),
});
export const NotificationFrame = z.strictObject({
  type: z.literal('notification'),
  event: z.string(),
  data: JsonValue,
  ts: z.int(),
  id: z.string(),
  /** Set when the notification was published to a room. */
  room: z.optional(RoomName),
});
export const PongFrame = z.strictObject({
  type: z.literal('pong'),
  id: z.nullable(RequestId),
  ts: z.optional(z.int()),
});
export const PresenceFrame = z.strictObject({
  type: z.literal('presence'),
  room: RoomName,
  user: z.string(),
  state: z.enum(['joined', 'left']),
  ts: z.int(),
});

export const ServerFrame = z.discriminatedUnion('type', [
  AckFrame,
  ErrorFrame,
  MessageFrame,
  NotificationFrame,
  PongFrame,
  PresenceFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
export type AckFrame = z.infer<typeof AckFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
export type MessageFrame = z.infer<typeof MessageFrame>;
export type NotificationFrame = z.infer<typeof NotificationFrame>;
export type PongFrame = z.infer<typeof PongFrame>;
export type PresenceFrame = z.infer<typeof PresenceFrame>;

/** Byte length of a JSON value as UTF-8, the way API Gateway and the limits above count it. */
export function jsonByteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}
