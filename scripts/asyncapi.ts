/**
 * Generates `docs/asyncapi.json`, the AsyncAPI 3 description of wire protocol v1, from the zod schemas in
 * `lambdas/core/protocol.ts`, so the machine-readable description can never drift from what the handlers
 * enforce. `npm run asyncapi` rewrites the file; a unit test fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';
import * as protocol from '../lambdas/core/protocol.js';

export const ASYNCAPI_PATH = fileURLToPath(new URL('../docs/asyncapi.json', import.meta.url));

interface FrameDoc {
  readonly schema: z.ZodMiniType;
  readonly summary: string;
}

/** Client-to-server frames, by message name. */
const CLIENT_FRAMES: Record<string, FrameDoc> = {
  join: { schema: protocol.JoinRequest, summary: 'Join a room (the room policy decides).' },
  leave: { schema: protocol.LeaveRequest, summary: 'Leave a room.' },
  send: { schema: protocol.SendRequest, summary: "Send data to a room's members." },
  ping: { schema: protocol.PingRequest, summary: 'Application-level heartbeat.' },
  resume: { schema: protocol.ResumeRequest, summary: 'Ask for messages missed while disconnected.' },
};

/** Server-to-client frames, by message name. */
const SERVER_FRAMES: Record<string, FrameDoc> = {
  ack: { schema: protocol.AckFrame, summary: 'A request with an id succeeded.' },
  error: { schema: protocol.ErrorFrame, summary: 'A request failed; `code` is stable.' },
  message: { schema: protocol.MessageFrame, summary: 'A member of a joined room sent a message.' },
  notification: { schema: protocol.NotificationFrame, summary: 'A backend service published a notification.' },
  pong: { schema: protocol.PongFrame, summary: 'The answer to a ping.' },
  presence: { schema: protocol.PresenceFrame, summary: 'Someone joined or left a room.' },
};

const schemaId = (name: string, direction: 'client' | 'server') =>
  `${name[0]?.toUpperCase()}${name.slice(1)}${direction === 'client' ? 'Request' : 'Frame'}`;

export function buildAsyncApi(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  registry.add(protocol.JsonValue, { id: 'JsonValue' });
  registry.add(protocol.RequestId, { id: 'RequestId' });
  registry.add(protocol.RoomName, { id: 'RoomName' });
  for (const [name, frame] of Object.entries(CLIENT_FRAMES))
    registry.add(frame.schema, { id: schemaId(name, 'client') });
  for (const [name, frame] of Object.entries(SERVER_FRAMES))
    registry.add(frame.schema, { id: schemaId(name, 'server') });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}` });
  for (const schema of Object.values(schemas)) {
    delete (schema as Record<string, unknown>).$schema;
    delete (schema as Record<string, unknown>).$id;
  }

  const messages = (frames: Record<string, FrameDoc>, direction: 'client' | 'server') =>
    Object.fromEntries(
      Object.entries(frames).map(([name, frame]) => [
        schemaId(name, direction),
        {
          name,
          summary: frame.summary,
          contentType: 'application/json',
          payload: { $ref: `#/components/schemas/${schemaId(name, direction)}` },
        },
      ]),
    );
  const clientMessages = messages(CLIENT_FRAMES, 'client');
  const serverMessages = messages(SERVER_FRAMES, 'server');
  const refs = (all: Record<string, unknown>) =>
    Object.keys(all).map((key) => ({ $ref: `#/channels/connection/messages/${key}` }));

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'switchboard wire protocol',
      version: `${protocol.PROTOCOL_VERSION}.0.0`,
      description:
        'JSON text frames over an API Gateway WebSocket API. Offer the subprotocols `switchboard.v1` and ' +
        '`bearer.<jwt>`. v1 only gains optional fields and new frame types; clients ignore unknown frame types. ' +
        `Limits: messages ${protocol.MAX_MESSAGE_BYTES} bytes (close 1009), frames ${protocol.MAX_FRAME_BYTES} bytes, ` +
        `\`data\` ${protocol.MAX_DATA_BYTES} bytes. Generated from lambdas/core/protocol.ts by scripts/asyncapi.ts.`,
    },
    defaultContentType: 'application/json',
    servers: {
      aws: {
        host: '{apiId}.execute-api.{region}.amazonaws.com',
        pathname: '/{stage}',
        protocol: 'wss',
        variables: { apiId: {}, region: {}, stage: { default: 'prod' } },
      },
      local: { host: '127.0.0.1:8080', pathname: '/local', protocol: 'ws', description: '`npm start`' },
    },
    channels: {
      connection: {
        address: '/',
        messages: { ...clientMessages, ...serverMessages },
      },
    },
    operations: {
      receiveClientFrames: {
        action: 'receive',
        channel: { $ref: '#/channels/connection' },
        summary: 'Frames a client sends; every frame with an `id` gets exactly one ack or error.',
        messages: refs(clientMessages),
      },
      sendServerFrames: {
        action: 'send',
        channel: { $ref: '#/channels/connection' },
        summary: 'Frames the server sends to a connection.',
        messages: refs(serverMessages),
      },
    },
    components: { schemas },
  };
}

export function renderAsyncApi(): string {
  return `${JSON.stringify(buildAsyncApi(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(ASYNCAPI_PATH, renderAsyncApi());
  console.log(`wrote ${ASYNCAPI_PATH}`);
}
