/**
 * The gateway's emulation of API Gateway, checked with stand-in handlers that record the events they get, so
 * each test sees exactly what the gateway did: event shapes, refusals, routing, limits, the management API
 * and the Invoke endpoint.
 */

import { request as httpRequest } from 'node:http';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../local/gateway.js';
import type { LambdaFunction } from '../../local/handlers.js';
import { eventually, startTestGateway } from './support/gateway.js';
import { isRecord, SUBPROTOCOL, TestClient } from './support/ws-client.js';

/** The parts of the recorded events the assertions read (the rest is matched with toMatchObject). */
interface Event {
  methodArn: string;
  headers?: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  body: string;
  fail?: boolean;
  requestContext: {
    connectionId: string;
    routeKey: string;
    requestTimeEpoch: number;
    connectedAt: number;
    domainName: string;
    messageId?: string;
    disconnectStatusCode?: number;
  };
}

const calls: { authorizer: Event[]; connect: Event[]; default: Event[]; disconnect: Event[]; publish: Event[] } = {
  authorizer: [],
  connect: [],
  default: [],
  disconnect: [],
  publish: [],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tokenOf(event: Event): string | undefined {
  const header = event.headers?.['Sec-WebSocket-Protocol'] ?? event.headers?.['sec-websocket-protocol'] ?? '';
  return (header as string)
    .split(',')
    .map((s) => s.trim())
    .find((s) => s.startsWith('bearer.'))
    ?.slice('bearer.'.length);
}

const standIns: Record<string, LambdaFunction> = {
  authorizer: async (raw: unknown) => {
    const event = raw as Event;
    calls.authorizer.push(event);
    const token = tokenOf(event);
    if (token === 'deny') {
      return {
        principalId: 'x',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn }],
        },
      };
    }
    if (token === 'boom') throw new Error('database exploded');
    if (token === 'bad-context') {
      return { principalId: 'x', policyDocument: allow(event.methodArn), context: { nested: { no: 1 } } };
    }
    if (token !== 'good') throw new Error('Unauthorized');
    return {
      principalId: 'alice',
      policyDocument: allow(event.methodArn),
      context: { sub: 'alice', level: 3, admin: false },
    };
  },
  connect: async (raw: unknown) => {
    const event = raw as Event;
    calls.connect.push(event);
    if (event.queryStringParameters?.refuse) return { statusCode: Number(event.queryStringParameters.refuse) };
    return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': SUBPROTOCOL } };
  },
  default: async (raw: unknown) => {
    const event = raw as Event;
    calls.default.push(event);
    if (event.body === 'slow') await sleep(1500);
    if (event.body === 'throw') throw new Error('handler bug with internal detail');
    return { statusCode: 200, body: JSON.stringify({ echo: event.body.length, route: event.requestContext.routeKey }) };
  },
  disconnect: async (raw: unknown) => {
    const event = raw as Event;
    calls.disconnect.push(event);
    return { statusCode: 200 };
  },
  publish: async (raw: unknown) => {
    const input = raw as Event;
    calls.publish.push(input);
    if (input?.fail) throw new TypeError('publish refused the input');
    return { recipients: 2, delivered: 2, gone: 0, failed: 0 };
  },
};

function allow(resource: string) {
  return {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resource.replace(/\$connect$/, '*') }],
  };
}

let gateway: Gateway;
const open: TestClient[] = [];
async function connect(token = 'good', options: { headers?: Record<string, string>; query?: string } = {}) {
  const client = await TestClient.open(`${gateway.url}${options.query ?? ''}`, token, options);
  open.push(client);
  return client;
}

beforeAll(async () => {
  gateway = await startTestGateway({
    handlers: standIns,
    limits: { integrationTimeoutMs: 500, idleTimeoutMs: 60_000, connectionsPerSecond: 1000 },
  });
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await gateway.close();
});

beforeEach(() => {
  for (const list of Object.values(calls)) list.length = 0;
  gateway.setLoseDisconnects(false);
});

describe('the WebSocket upgrade', () => {
  it('runs the authorizer and then $connect with API Gateway event shapes', async () => {
    // Act
    const client = await connect('good', { headers: { Origin: 'http://127.0.0.1' }, query: '?room=lobby&room=two' });

    // Assess
    expect(client.ws.protocol).toBe(SUBPROTOCOL);
    const [auth] = calls.authorizer;
    expect(auth).toMatchObject({
      type: 'REQUEST',
      methodArn: `arn:aws:execute-api:local:000000000000:local/${gateway.stage}/$connect`,
      queryStringParameters: { room: 'two' },
      multiValueQueryStringParameters: { room: ['lobby', 'two'] },
      requestContext: { routeKey: '$connect', eventType: 'CONNECT', stage: gateway.stage, apiId: 'local' },
    });
    // Headers keep the case the client sent, as on AWS.
    expect(auth?.headers?.Origin).toBe('http://127.0.0.1');
    const [connectEvent] = calls.connect;
    expect(connectEvent?.requestContext).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      connectionId: auth?.requestContext.connectionId,
      // API Gateway hands context values to the integration as strings.
      authorizer: { principalId: 'alice', sub: 'alice', level: '3', admin: 'false' },
    });
    expect(typeof connectEvent?.requestContext.requestTimeEpoch).toBe('number');
    expect(typeof connectEvent?.requestContext.connectedAt).toBe('number');
    expect(connectEvent?.requestContext.domainName).toBe(`127.0.0.1:${gateway.port}`);
  });

  it('calls the authorizer on every upgrade (no caching for WebSocket APIs)', async () => {
    await connect();
    await connect();
    expect(calls.authorizer).toHaveLength(2);
  });

  it.each([
    ['an Unauthorized error', 'expired', 401],
    ['no token', undefined, 401],
    ['a Deny policy', 'deny', 403],
    ['any other authorizer error', 'boom', 500],
    ['a context value that is an object', 'bad-context', 500],
  ])('refuses the upgrade on %s', async (_case, token, status) => {
    expect(await TestClient.refusal(gateway.url, token)).toBe(status);
    expect(calls.connect).toHaveLength(0);
  });

  it('refuses the upgrade with the status of a $connect result outside 2xx', async () => {
    expect(await TestClient.refusal(`${gateway.url}?refuse=409`, 'good')).toBe(409);
  });

  it('refuses an upgrade on another path than the stage', async () => {
    expect(await TestClient.refusal(`${gateway.httpUrl.replace('http', 'ws')}/other`, 'good')).toBe(403);
  });

  it('selects no subprotocol unless $connect answers with one', async () => {
    // Arrange: a stand-in $connect that sets no header, on a second gateway.
    const bare = await startTestGateway({
      handlers: { ...standIns, connect: async () => ({ statusCode: 200 }) },
    });
    try {
      // Act / Assess: ws, like browsers, fails a handshake whose answer picks none of the offered protocols.
      await expect(TestClient.open(bare.url, 'good')).rejects.toThrow(/no subprotocol/i);
      const plain = await TestClient.open(bare.url, undefined, { protocols: [] }).catch((e: unknown) => e);
      expect(plain).toMatchObject({ status: 401 });
    } finally {
      await bare.close();
    }
  });
});

describe('routing', () => {
  it('sends frames to $default with the authorizer context, and returns the route response', async () => {
    // Arrange
    const client = await connect();

    // Act
    client.send({ action: 'join', room: 'public:lobby' });
    const reply = await client.next((f) => isRecord(f) && 'echo' in f);

    // Assess
    expect(reply).toEqual({ echo: JSON.stringify({ action: 'join', room: 'public:lobby' }).length, route: '$default' });
    expect(calls.default[0]).toMatchObject({
      isBase64Encoded: false,
      requestContext: { eventType: 'MESSAGE', routeKey: '$default', authorizer: { principalId: 'alice' } },
    });
    expect(typeof calls.default[0]?.requestContext.messageId).toBe('string');
  });

  it('passes binary frames base64-encoded', async () => {
    const client = await connect();
    client.ws.send(Buffer.from([1, 2, 3]));
    await client.next((f) => isRecord(f) && 'echo' in f);
    expect(calls.default[0]).toMatchObject({ body: 'AQID', isBase64Encoded: true });
  });

  it('answers a handler past the integration timeout as API Gateway does, and keeps the connection', async () => {
    const client = await connect();
    client.send('slow');
    const frame = await client.next((f) => isRecord(f) && typeof f.message === 'string');
    expect(frame).toMatchObject({ message: 'Endpoint request timed out', connectionId: expect.any(String) });
    client.send('ping?');
    await expect(client.next((f) => isRecord(f) && 'echo' in f)).resolves.toBeDefined();
  });

  it('answers a failing handler with Internal server error and no internals', async () => {
    const client = await connect();
    client.send('throw');
    const frame = await client.next((f) => isRecord(f) && typeof f.message === 'string');
    expect(frame).toMatchObject({ message: 'Internal server error' });
    expect(JSON.stringify(frame)).not.toContain('internal detail');
  });
});

describe('$disconnect', () => {
  it('runs on close with the close code and reason', async () => {
    const client = await connect();
    client.ws.close(4001, 'bye now');
    await client.closed;
    await eventually(
      async () => calls.disconnect.length,
      (n) => n === 1,
    );
    expect(calls.disconnect[0]?.requestContext).toMatchObject({
      eventType: 'DISCONNECT',
      routeKey: '$disconnect',
      disconnectStatusCode: 4001,
      disconnectReason: 'bye now',
      authorizer: { principalId: 'alice' },
    });
  });

  it('reports 1006 for a client that drops without a close frame', async () => {
    const client = await connect();
    client.ws.terminate();
    await eventually(
      async () => calls.disconnect.length,
      (n) => n === 1,
    );
    expect(calls.disconnect[0]?.requestContext.disconnectStatusCode).toBe(1006);
  });

  it('is lost on purpose when loseDisconnects says so', async () => {
    gateway.setLoseDisconnects(true);
    const client = await connect();
    const id = calls.connect.at(-1)?.requestContext.connectionId;
    expect(id).toBeTypeOf('string');
    client.ws.terminate();
    // The gateway forgets the connection in the same close event that would call $disconnect.
    await eventually(
      async () => gateway.connections().some((c) => c.connectionId === id),
      (open) => !open,
    );
    expect(calls.disconnect).toHaveLength(0);
    expect(gateway.connections().map((c) => c.connectionId)).toHaveLength(open.length - countClosed());
  });
});

function countClosed(): number {
  return open.filter((c) => c.ws.readyState === c.ws.CLOSED || c.ws.readyState === c.ws.CLOSING).length;
}

describe('size limits', () => {
  it('closes with 1009 on a single frame over 32 KB', async () => {
    const client = await connect();
    client.send('x'.repeat(33 * 1024));
    await expect(client.closed).resolves.toMatchObject({ code: 1009 });
    expect(calls.default).toHaveLength(0);
  });

  it('accepts a 100 KB message sent in 32 KB frames', async () => {
    const client = await connect();
    const chunk = 'y'.repeat(32 * 1024);
    for (let i = 0; i < 3; i++) client.ws.send(chunk, { fin: false });
    client.ws.send('y'.repeat(4 * 1024), { fin: true });
    await expect(client.next((f) => isRecord(f) && 'echo' in f)).resolves.toMatchObject({ echo: 100 * 1024 });
  });

  it('closes with 1009 on a message over 128 KB, and other clients carry on', async () => {
    const [big, other] = [await connect(), await connect()];
    const chunk = 'z'.repeat(32 * 1024);
    for (let i = 0; i < 4; i++) big.ws.send(chunk, { fin: false });
    big.ws.send('z', { fin: true });
    await expect(big.closed).resolves.toMatchObject({ code: 1009 });
    await eventually(
      async () => calls.disconnect.length,
      (n) => n === 1,
    );
    expect(calls.disconnect[0]?.requestContext.disconnectStatusCode).toBe(1009);
    other.send('still here');
    await expect(other.next((f) => isRecord(f) && 'echo' in f)).resolves.toBeDefined();
  });
});

describe('timeouts', () => {
  it('closes an idle connection with 1001 Going away, and after the maximum duration', async () => {
    const short = await startTestGateway({
      handlers: standIns,
      limits: { idleTimeoutMs: 300, maxConnectionMs: 60_000 },
    });
    const capped = await startTestGateway({
      handlers: standIns,
      limits: { idleTimeoutMs: 60_000, maxConnectionMs: 400 },
    });
    try {
      const idle = await TestClient.open(short.url, 'good');
      const busy = await TestClient.open(capped.url, 'good');
      const keepBusy = setInterval(() => busy.send('tick'), 100);
      await expect(idle.closed).resolves.toEqual({ code: 1001, reason: 'Going away' });
      await expect(busy.closed).resolves.toEqual({ code: 1001, reason: 'Going away' });
      clearInterval(keepBusy);
    } finally {
      await short.close();
      await capped.close();
    }
  });
});

describe('the management API', () => {
  const management = () => new ApiGatewayManagementApiClient({ endpoint: gateway.callbackUrl, maxAttempts: 1 });

  it('posts to, describes and deletes a connection through the real SDK client', async () => {
    // Arrange
    const client = await connect();
    const connectionId = calls.connect[0]?.requestContext.connectionId as string;
    const api = management();

    // Act / Assess: POST
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"type":"hello"}' }));
    await expect(client.next((f) => isRecord(f) && f.type === 'hello')).resolves.toEqual({ type: 'hello' });

    // GET
    const described = await api.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(described.ConnectedAt).toBeInstanceOf(Date);
    expect(described.LastActiveAt).toBeInstanceOf(Date);
    expect(described.Identity?.SourceIp).toBe('127.0.0.1');

    // DELETE
    await api.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await expect(client.closed).resolves.toMatchObject({ code: 1000 });
    await eventually(
      async () => calls.disconnect.length,
      (n) => n === 1,
    );
    await expect(
      api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' })),
    ).rejects.toBeInstanceOf(GoneException);
  });

  it('answers an unknown connection with 410 GoneException', async () => {
    const response = await management()
      .send(new GetConnectionCommand({ ConnectionId: 'Tm9TdWNoQ29ubj0=' }))
      .catch((e: unknown) => e);
    expect(response).toBeInstanceOf(GoneException);
    expect((response as GoneException).$metadata.httpStatusCode).toBe(410);
  });

  it('answers a connection id that is not valid percent-encoding with 400, and keeps serving', async () => {
    // The SDK would encode the `%` itself, so the request is written by hand, signed in shape only.
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const response = await fetch(`${gateway.callbackUrl}/@connections/abc%E0%A4%A`, {
      headers: {
        'x-amz-date': amzDate,
        authorization: `AWS4-HMAC-SHA256 Credential=AKID/${amzDate.slice(0, 8)}/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
    });

    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('BadRequestException');
    await expect(
      management().send(new GetConnectionCommand({ ConnectionId: 'Tm9TdWNoQ29ubj0=' })),
    ).rejects.toBeInstanceOf(GoneException);
  });

  it('refuses a request without a SigV4 signature with 403', async () => {
    const response = await fetch(`${gateway.callbackUrl}/@connections/abc`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });

  it('refuses a signature scoped to another service', async () => {
    const response = await fetch(`${gateway.callbackUrl}/@connections/abc`, {
      headers: {
        'x-amz-date': new Date()
          .toISOString()
          .replace(/[-:]/g, '')
          .replace(/\.\d{3}/, ''),
        authorization: `AWS4-HMAC-SHA256 Credential=AKID/${new Date().toISOString().slice(0, 10).replace(/-/g, '')}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
  });
});

describe('the Lambda Invoke endpoint', () => {
  const lambda = () => new LambdaClient({ endpoint: gateway.httpUrl, maxAttempts: 1 });

  it('invokes publish with the payload and returns its result', async () => {
    const response = await lambda().send(
      new InvokeCommand({
        FunctionName: 'publish',
        Payload: JSON.stringify({ to: { all: true }, event: 'e', data: 1 }),
      }),
    );
    expect(response.StatusCode).toBe(200);
    expect(response.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(response.Payload ?? []).toString())).toEqual({
      recipients: 2,
      delivered: 2,
      gone: 0,
      failed: 0,
    });
    expect(calls.publish).toEqual([{ to: { all: true }, event: 'e', data: 1 }]);
  });

  it('accepts the function by ARN', async () => {
    const response = await lambda().send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:Stack-PublishFn-publish',
        Payload: '{}',
      }),
    );
    expect(response.StatusCode).toBe(200);
  });

  it('reports a thrown error as Lambda does: 200, FunctionError Unhandled, no stack', async () => {
    const response = await lambda().send(new InvokeCommand({ FunctionName: 'publish', Payload: '{"fail":true}' }));
    expect(response.FunctionError).toBe('Unhandled');
    const payload = JSON.parse(Buffer.from(response.Payload ?? []).toString());
    expect(payload).toEqual({ errorType: 'TypeError', errorMessage: 'publish refused the input' });
  });

  it('answers another function name with ResourceNotFoundException', async () => {
    await expect(lambda().send(new InvokeCommand({ FunctionName: 'billing', Payload: '{}' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('refuses an unsigned invocation', async () => {
    const response = await fetch(`${gateway.httpUrl}/2015-03-31/functions/publish/invocations`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(403);
    expect(calls.publish).toHaveLength(0);
  });
});

describe('the connection rate limit', () => {
  it('answers upgrades beyond the new-connection rate with 429', async () => {
    const limited = await startTestGateway({ handlers: standIns, limits: { connectionsPerSecond: 0.5 } });
    try {
      const statuses = await Promise.all(
        Array.from({ length: 5 }, () =>
          TestClient.open(limited.url, 'good').then(
            (c) => {
              void c.close();
              return 101;
            },
            (e: { status?: number }) => e.status,
          ),
        ),
      );
      // A bucket of one token that refills every 2 s: one upgrade passes, the rest arrive before the refill.
      expect(statuses.filter((s) => s === 101)).toHaveLength(1);
      expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    } finally {
      await limited.close();
    }
  });
});

describe('the local identity endpoints', () => {
  it('serves the JWKS of the signing key and an OpenID configuration', async () => {
    const jwks = await (await fetch(`${gateway.httpUrl}/.well-known/jwks.json`)).json();
    expect(jwks).toEqual({ keys: [gateway.signingKey.jwk] });
    const config = await (await fetch(`${gateway.httpUrl}/.well-known/openid-configuration`)).json();
    expect(config).toMatchObject({
      issuer: 'https://switchboard.local/dev',
      jwks_uri: `${gateway.httpUrl}/.well-known/jwks.json`,
    });
  });

  it('signs a dev token for a loopback caller, and refuses a bad sub', async () => {
    const ok = await fetch(`${gateway.httpUrl}/dev/token`, { method: 'POST', body: JSON.stringify({ sub: 'bob' }) });
    const { token } = (await ok.json()) as { token: string };
    const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
    expect(payload).toMatchObject({ sub: 'bob', iss: 'https://switchboard.local/dev', aud: 'switchboard-local' });
    const bad = await fetch(`${gateway.httpUrl}/dev/token`, {
      method: 'POST',
      body: JSON.stringify({ sub: '../x y' }),
    });
    expect(bad.status).toBe(400);
  });

  it('refuses a dev token to a page of another site, and to a host name rebound to this machine', async () => {
    const port = new URL(gateway.httpUrl).port;
    const ask = (headers: Record<string, string>) => devTokenStatus(gateway.httpUrl, headers);

    expect(await ask({ host: `127.0.0.1:${port}`, origin: 'https://attacker.example' })).toBe(403);
    expect(await ask({ host: `attacker.example:${port}` })).toBe(403);
    expect(await ask({ host: `localhost:${port}`, origin: `http://localhost:${port}` })).toBe(200);
  });

  it('serves the demo page', async () => {
    const page = await fetch(`${gateway.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="connect"');
  });
});

/** POSTs to /dev/token with exactly these Host and Origin headers (fetch would not let a test set Host). */
function devTokenStatus(httpUrl: string, headers: Record<string, string>): Promise<number | undefined> {
  const body = JSON.stringify({ sub: 'mallory' });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${httpUrl}/dev/token`,
      { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
