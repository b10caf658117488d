/**
 * Wire protocol v1 on the server: turns one client frame into at most one reply frame.
 *
 * Every request with an `id` gets exactly one ack or error. A request without `id` gets no reply when it
 * succeeds (a ping still gets its pong), but an error is always sent, with `id: null` when the id is unknown.
 * The connection stays open whatever the frame holds.
 */
import { randomUUID } from 'node:crypto';
import type * as z from 'zod/mini';
import type { ConnectionStore } from './connections.js';
import { ProtocolError } from './errors.js';
import { type FanOutOptions, fanOut, type Sender } from './fanout.js';
import type { Identity } from './identity.js';
import { type Log, silentLog } from './logger.js';
import {
  CLIENT_ACTIONS,
  type ClientAction,
  ClientFrame,
  ErrorCode,
  type ErrorFrame,
  jsonByteLength,
  MAX_DATA_BYTES,
  type MessageFrame,
  RequestId,
  type SendRequest,
  type ServerFrame,
} from './protocol.js';
import type { RoomPolicy } from './room-policy.js';

export interface FrameContext {
  connectionId: string;
  identity: Identity;
  store: ConnectionStore;
  sender: Sender;
  policy: RoomPolicy;
  /** Parallel posts when a message fans out to a room. */
  concurrency: number;
  retry?: FanOutOptions['retry'];
  /** Epoch milliseconds. */
  now?: () => number;
  newId?: () => string;
  log?: Log;
}

/** The raw frame as API Gateway delivers it. */
export interface IncomingFrame {
  body?: string | null;
  isBase64Encoded?: boolean;
}

const MAX_PROBLEMS_IN_MESSAGE = 5;

/** Handles one frame. Resolves with the reply to send back, or undefined when none is due. Never rejects. */
export async function handleFrame(frame: IncomingFrame, context: FrameContext): Promise<ServerFrame | undefined> {
  const log = context.log ?? silentLog;
  let id: RequestId | null = null;
  try {
    const raw = decodeBody(frame);
    const message = parseJson(raw);
    id = requestIdOf(message);
    const request = validate(message);
    return await dispatch(request, context);
  } catch (error) {
    if (error instanceof ProtocolError) {
      log.info('Request refused', { code: error.code, reason: error.message });
      return errorFrame(id, error.code, error.message);
    }
    log.error('Request failed', error instanceof Error ? error : String(error));
    return errorFrame(id, ErrorCode.INTERNAL, 'The server could not handle this request. Try again later.');
  }
}

function decodeBody(frame: IncomingFrame): string {
  const body = frame.body ?? '';
  return frame.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (cause) {
    throw new ProtocolError(ErrorCode.INVALID_JSON, 'The message is not valid JSON.', { cause });
  }
}

/**
 * The request id of a raw frame, or null when it has none (or is not JSON), for a handler that must refuse a
 * frame before `handleFrame` runs and still owes that request exactly one error.
 */
export function requestIdOfFrame(frame: IncomingFrame): RequestId | null {
  try {
    return requestIdOf(JSON.parse(decodeBody(frame)));
  } catch {
    return null;
  }
}

function requestIdOf(message: unknown): RequestId | null {
  if (message === null || typeof message !== 'object' || !('id' in message)) return null;
  const parsed = RequestId.safeParse(message.id);
  return parsed.success ? parsed.data : null;
}

function validate(message: unknown): ClientFrame {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new ProtocolError(ErrorCode.INVALID_MESSAGE, 'A message must be a JSON object with an "action".');
  }
  const action = (message as { action?: unknown }).action;
  if (typeof action !== 'string' || !(CLIENT_ACTIONS as readonly string[]).includes(action)) {
    throw new ProtocolError(
      ErrorCode.UNKNOWN_ACTION,
      `Unknown action${typeof action === 'string' ? ` "${action.slice(0, 64)}"` : ''}; expected one of ${CLIENT_ACTIONS.join(', ')}.`,
    );
  }
  if ('data' in message && jsonByteLength(message.data) > MAX_DATA_BYTES) {
    throw new ProtocolError(ErrorCode.PAYLOAD_TOO_LARGE, `"data" must serialize to at most ${MAX_DATA_BYTES} bytes.`);
  }
  const parsed = ClientFrame.safeParse(message);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const onlyRoom = issues.every((issue) => issue.path.length === 1 && issue.path[0] === 'room');
  throw new ProtocolError(
    onlyRoom ? ErrorCode.INVALID_ROOM : ErrorCode.INVALID_MESSAGE,
    `Invalid "${action as ClientAction}" request: ${describeIssues(issues)}.`,
  );
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const described = issues.slice(0, MAX_PROBLEMS_IN_MESSAGE).map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `unexpected field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k.slice(0, 64)}"`).join(', ')}`;
    }
    const where = issue.path.length > 0 ? `"${issue.path.map(String).join('.')}"` : 'message';
    return `${where}: ${issue.message}`;
  });
  if (issues.length > MAX_PROBLEMS_IN_MESSAGE) described.push(`and ${issues.length - MAX_PROBLEMS_IN_MESSAGE} more`);
  return described.join('; ');
}

async function dispatch(request: ClientFrame, context: FrameContext): Promise<ServerFrame | undefined> {
  switch (request.action) {
    case 'join': {
      if (!(await context.policy.canJoin(context.identity, request.room))) throw forbidden(request.room);
      await context.store.join(context.connectionId, context.identity.sub, request.room);
      return ack(request.id, { room: request.room });
    }
    case 'leave': {
      await context.store.leave(context.connectionId, request.room);
      return ack(request.id, { room: request.room });
    }
    case 'send':
      return send(request, context);
    case 'ping':
      return { type: 'pong', id: request.id ?? null, ts: (context.now ?? Date.now)() };
    case 'resume':
      throw new ProtocolError(ErrorCode.UNSUPPORTED, 'Durable delivery is not enabled on this deployment.');
  }
}

async function send(request: SendRequest, context: FrameContext): Promise<ServerFrame | undefined> {
  if (!(await context.policy.canSend(context.identity, request.room))) throw forbidden(request.room);
  if (!(await context.store.isMember(request.room, context.connectionId))) {
    throw new ProtocolError(ErrorCode.NOT_IN_ROOM, `Join room "${request.room}" before sending to it.`);
  }
  const message: MessageFrame = {
    type: 'message',
    room: request.room,
    from: context.identity.sub,
    data: request.data,
    ts: (context.now ?? Date.now)(),
    id: (context.newId ?? randomUUID)(),
  };
  const report = await fanOut(context.store.roomMembers(request.room), JSON.stringify(message), {
    sender: context.sender,
    store: context.store,
    concurrency: context.concurrency,
    exclude: request.excludeSelf ? [context.connectionId] : [],
    ...(context.retry ? { retry: context.retry } : {}),
    ...(context.log ? { log: context.log } : {}),
  });
  context.log?.info('Message sent', { room: request.room, messageId: message.id, ...report });
  return ack(request.id, { id: message.id, recipients: report.recipients, delivered: report.delivered });
}

function forbidden(room: string): ProtocolError {
  return new ProtocolError(ErrorCode.FORBIDDEN, `You are not allowed in room "${room}".`);
}

function ack(id: RequestId | undefined, result: Record<string, string | number>): ServerFrame | undefined {
  return id === undefined ? undefined : { type: 'ack', id, result };
}

function errorFrame(id: RequestId | null, code: ErrorCode, message: string): ErrorFrame {
  return { type: 'error', id, code, message };
}
