import 'aws-sdk-client-mock-vitest/extend';
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler as createConnect } from '../../lambdas/connect/index.js';
import { HandlerSettings } from '../../lambdas/core/config.js';
import type { WebSocketEvent } from '../../lambdas/core/events.js';
import { CONNECTION_TTL_SECONDS } from '../../lambdas/core/table.js';
import { createHandler as createDisconnect } from '../../lambdas/disconnect/index.js';

const ddb = mockClient(DynamoDBDocumentClient);
const settings = HandlerSettings.parse({ tableName: 'connections' });
const CONNECTED_AT = 1_735_689_600_000;

function connectEvent(headers: Record<string, string> = {}): WebSocketEvent {
  return {
    requestContext: {
      connectionId: 'c1',
      routeKey: '$connect',
      eventType: 'CONNECT',
      requestId: 'req-1',
      connectedAt: CONNECTED_AT,
      authorizer: { principalId: 'alice', sub: 'alice', claims: '{}' },
    },
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    isBase64Encoded: false,
  };
}

beforeEach(() => {
  ddb.reset();
});

describe('$connect', () => {
  it('records the connection of the verified identity', async () => {
    ddb.on(PutCommand).resolves({});

    const result = await createConnect(settings)(connectEvent());

    expect(result).toEqual({ statusCode: 200 });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'connections',
      Item: expect.objectContaining({
        pk: 'CONN#c1',
        sk: 'META',
        userId: 'alice',
        connectedAt: CONNECTED_AT,
        expiresAt: CONNECTED_AT / 1000 + CONNECTION_TTL_SECONDS,
      }),
    });
  });

  it('selects switchboard.v1 when offered, and never echoes the bearer entry', async () => {
    ddb.on(PutCommand).resolves({});

    const result = await createConnect(settings)(
      connectEvent({ 'Sec-WebSocket-Protocol': 'switchboard.v1, bearer.header.payload.signature' }),
    );

    expect(result).toEqual({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'switchboard.v1' } });
    expect(JSON.stringify(result)).not.toContain('bearer');
  });

  it('selects no subprotocol when the client did not offer switchboard.v1', async () => {
    ddb.on(PutCommand).resolves({});

    const result = await createConnect(settings)(connectEvent({ 'sec-websocket-protocol': 'bearer.x.y.z' }));

    expect(result).toEqual({ statusCode: 200 });
  });

  it('answers 500 when the connection cannot be recorded, so API Gateway refuses the upgrade', async () => {
    ddb.on(PutCommand).rejects(new Error('ProvisionedThroughputExceededException'));

    const result = await createConnect(settings)(connectEvent({ 'Sec-WebSocket-Protocol': 'switchboard.v1' }));

    expect(result).toEqual({ statusCode: 500 });
  });

  it('answers 500 and writes nothing when the authorizer context is missing', async () => {
    const event = connectEvent();
    event.requestContext.authorizer = undefined;

    const result = await createConnect(settings)(event);

    expect(result.statusCode).toBe(500);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });
});

describe('$disconnect', () => {
  const disconnectEvent: WebSocketEvent = {
    requestContext: {
      connectionId: 'c1',
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
    },
    isBase64Encoded: false,
  };

  it('removes the connection and its memberships', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        { pk: 'CONN#c1', sk: 'META' },
        { pk: 'CONN#c1', sk: 'ROOM#public:a' },
      ],
    });
    ddb.on(BatchWriteCommand).resolves({});

    const result = await createDisconnect(settings)(disconnectEvent);

    expect(result).toEqual({ statusCode: 200 });
    expect(ddb).toHaveReceivedCommandWith(BatchWriteCommand, {
      RequestItems: {
        connections: expect.arrayContaining([{ DeleteRequest: { Key: { pk: 'ROOM#public:a', sk: 'CONN#c1' } } }]),
      },
    });
  });

  it('succeeds for a connection that is already gone', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    const result = await createDisconnect(settings)(disconnectEvent);

    expect(result).toEqual({ statusCode: 200 });
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
  });

  it('answers 500 without throwing when the cleanup fails', async () => {
    ddb.on(QueryCommand).rejects(new Error('table unavailable'));

    await expect(createDisconnect(settings)(disconnectEvent)).resolves.toEqual({ statusCode: 500 });
  });
});
