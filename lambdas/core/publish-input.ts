/**
 * The one definition of the publish Lambda's input and output.
 *
 * A producer invokes the function with one notification, or an array of up to MAX_BATCH of them. Every item
 * is validated before anything is sent: one bad item fails the whole batch with a PublishValidationError.
 */
import * as z from 'zod/mini';
import './zod-locale.js';
import { JsonValue, jsonByteLength, MAX_DATA_BYTES, RoomName } from './protocol.js';

export const MAX_BATCH = 100;
export const MAX_TARGETS = 1000;

const ConnectionId = z.string().check(z.minLength(1), z.maxLength(128));
const UserId = z.string().check(z.minLength(1), z.maxLength(256));

export const Target = z.union([
  z.strictObject({ users: z.array(UserId).check(z.minLength(1), z.maxLength(MAX_TARGETS)) }),
  z.strictObject({ rooms: z.array(RoomName).check(z.minLength(1), z.maxLength(MAX_TARGETS)) }),
  z.strictObject({ connections: z.array(ConnectionId).check(z.minLength(1), z.maxLength(MAX_TARGETS)) }),
  z.strictObject({ all: z.literal(true) }),
]);
export type Target = z.infer<typeof Target>;

export const Notification = z.strictObject({
  to: Target,
  /** Event name, such as `order.shipped`. */
  event: z
    .string()
    .check(z.regex(/^[A-Za-z0-9_.:/-]{1,128}$/, 'event names are 1-128 characters of A-Z a-z 0-9 _ . : / -')),
  data: JsonValue.check(
    z.refine((d) => jsonByteLength(d) <= MAX_DATA_BYTES, `data must serialize to at most ${MAX_DATA_BYTES} bytes`),
  ),
  /** Connection ids that must not receive this notification (for example the producer's own). */
  exclude: z.optional(z.array(ConnectionId).check(z.maxLength(MAX_TARGETS))),
});
export type Notification = z.infer<typeof Notification>;

export const PublishInput = z.union([
  Notification,
  z.array(Notification).check(z.minLength(1), z.maxLength(MAX_BATCH)),
]);
export type PublishInput = z.infer<typeof PublishInput>;

/** What happened to one notification. `recipients` = `delivered` + `gone` + `failed`. */
export interface DeliveryReport {
  /** Live connections the target resolved to, after `exclude`. */
  recipients: number;
  /** Sends API Gateway accepted. */
  delivered: number;
  /** Connections that had gone (410); their records and memberships were pruned. */
  gone: number;
  /** Sends that failed after retries. Never silently dropped: they are counted and logged. */
  failed: number;
}

/** One report for a single notification; an array of reports, in input order, for a batch. */
export type PublishOutput = DeliveryReport | DeliveryReport[];
