/**
 * Builds the events API Gateway sends to a WebSocket API's Lambda functions, in the `aws-lambda` type shapes.
 *
 * Field by field as on AWS: headers keep the case the client sent them in (so a handler must look them up
 * case-insensitively, as on AWS), the authorizer context is present on every route of the connection, and
 * `$disconnect` carries the close code and reason.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type {
  APIGatewayEventIdentity,
  APIGatewayEventWebsocketRequestContextV2,
  APIGatewayProxyWebsocketEventV2WithRequestContext,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';

export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_REGION = 'local';

export interface ApiIdentity {
  readonly apiId: string;
  readonly stage: string;
  readonly domainName: string;
}

/** What every event of one connection shares. */
export interface ConnectionFacts extends ApiIdentity {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string | null;
}

export type AuthorizerContext = { principalId: string; integrationLatency: number } & Record<string, string | number>;

export type WebsocketRequestContext = APIGatewayEventWebsocketRequestContextV2 & {
  identity: Pick<APIGatewayEventIdentity, 'sourceIp' | 'userAgent'>;
  authorizer?: AuthorizerContext;
  disconnectStatusCode?: number;
  disconnectReason?: string;
};

export type WebsocketEvent = APIGatewayProxyWebsocketEventV2WithRequestContext<WebsocketRequestContext> & {
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
};

/** API Gateway connection ids are 16 characters of base64, such as `L0SM9cOFvHcCIhw=`. */
export function newConnectionId(): string {
  for (;;) {
    const id = randomBytes(11).toString('base64');
    // Keep ids path-safe, as AWS's are, so a handler that forgets to URL-encode is not excused here.
    if (!/[+/]/.test(id)) return id;
  }
}

export function methodArn(api: ApiIdentity, routeKey: string): string {
  return `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${api.apiId}/${api.stage}/${routeKey}`;
}

/** Headers as the client sent them (original case), single- and multi-valued, plus API Gateway's own. */
export function requestHeaders(
  req: IncomingMessage,
  sourceIp: string,
): { headers: Record<string, string>; multiValueHeaders: Record<string, string[]> } {
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  multiValueHeaders['X-Amzn-Trace-Id'] = [`Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomHex(12)}`];
  multiValueHeaders['X-Forwarded-For'] = [sourceIp];
  multiValueHeaders['X-Forwarded-Port'] = [String(req.socket.localPort ?? '')];
  multiValueHeaders['X-Forwarded-Proto'] = ['http'];
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(multiValueHeaders)) headers[name] = values.at(-1) as string;
  return { headers, multiValueHeaders };
}

export function queryParameters(url: URL): {
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
} {
  if ([...url.searchParams.keys()].length === 0) return {};
  const multi: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) multi[key] = [...(multi[key] ?? []), value];
  const single: Record<string, string> = {};
  for (const [key, values] of Object.entries(multi)) single[key] = values.at(-1) as string;
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

function requestContext(
  facts: ConnectionFacts,
  routeKey: string,
  eventType: WebsocketRequestContext['eventType'],
  now: number,
): WebsocketRequestContext {
  return {
    routeKey,
    eventType,
    messageId: eventType === 'MESSAGE' ? randomMessageId() : (undefined as unknown as string),
    extendedRequestId: randomRequestId(),
    requestTime: clfTime(now),
    messageDirection: 'IN',
    stage: facts.stage,
    connectedAt: facts.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: facts.sourceIp, userAgent: facts.userAgent },
    requestId: randomRequestId(),
    domainName: facts.domainName,
    connectionId: facts.connectionId,
    apiId: facts.apiId,
  };
}

export function authorizerEvent(
  facts: ConnectionFacts,
  req: IncomingMessage,
  url: URL,
  now: number,
): APIGatewayRequestAuthorizerEvent {
  const { headers, multiValueHeaders } = requestHeaders(req, facts.sourceIp);
  const query = queryParameters(url);
  const context = requestContext(facts, '$connect', 'CONNECT', now);
  return {
    type: 'REQUEST',
    methodArn: methodArn(facts, '$connect'),
    resource: '$connect',
    path: `/${facts.stage}`,
    httpMethod: 'GET',
    headers,
    multiValueHeaders,
    pathParameters: null,
    queryStringParameters: query.queryStringParameters ?? {},
    multiValueQueryStringParameters: query.multiValueQueryStringParameters ?? {},
    stageVariables: {},
    requestContext: {
      ...context,
      messageId: undefined,
      accountId: LOCAL_ACCOUNT_ID,
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: 'GET',
      path: `/${facts.stage}`,
      resourceId: '$connect',
      resourcePath: '$connect',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: facts.sourceIp,
        user: null,
        userAgent: facts.userAgent,
        userArn: null,
      },
    },
  };
}

export function connectEvent(
  facts: ConnectionFacts,
  req: IncomingMessage,
  url: URL,
  authorizer: AuthorizerContext,
  now: number,
): WebsocketEvent {
  const { headers, multiValueHeaders } = requestHeaders(req, facts.sourceIp);
  const context = requestContext(facts, '$connect', 'CONNECT', now);
  delete (context as Partial<WebsocketRequestContext>).messageId;
  return {
    headers,
    multiValueHeaders,
    ...queryParameters(url),
    requestContext: { ...context, authorizer },
    isBase64Encoded: false,
  };
}

export function messageEvent(
  facts: ConnectionFacts,
  routeKey: string,
  body: string,
  isBase64Encoded: boolean,
  authorizer: AuthorizerContext | undefined,
  now: number,
): WebsocketEvent {
  const context = requestContext(facts, routeKey, 'MESSAGE', now);
  return {
    requestContext: authorizer ? { ...context, authorizer } : context,
    body,
    isBase64Encoded,
  };
}

export function disconnectEvent(
  facts: ConnectionFacts,
  statusCode: number,
  reason: string,
  authorizer: AuthorizerContext | undefined,
  now: number,
): WebsocketEvent {
  const context = requestContext(facts, '$disconnect', 'DISCONNECT', now);
  delete (context as Partial<WebsocketRequestContext>).messageId;
  return {
    headers: { Host: facts.domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
    multiValueHeaders: { Host: [facts.domainName], 'x-api-key': [''], 'X-Forwarded-For': [''], 'x-restapi': [''] },
    requestContext: {
      ...context,
      ...(authorizer ? { authorizer } : {}),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
    },
    isBase64Encoded: false,
  };
}

/** API Gateway request ids look like `Dz0AFGH6IAMFqvA=`; message ids like `Dz0AFdxmoAMCJ9w=`. */
function randomRequestId(): string {
  return randomBytes(11).toString('base64');
}

function randomMessageId(): string {
  return randomBytes(11).toString('base64');
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** `26/Nov/2025:10:00:00 +0000`, the Common Log Format time API Gateway puts in `requestTime`. */
function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())} +0000`;
}
