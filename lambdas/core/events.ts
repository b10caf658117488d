/**
 * The shapes of the WebSocket events the route handlers receive. API Gateway sends more fields than these;
 * the handlers read only what is listed, so the local gateway can build the same objects in-process.
 */

/** What the REQUEST authorizer returned as `context`, which API Gateway attaches to every later route. */
export interface AuthorizerContext {
  principalId?: string;
  sub?: string;
  /** JSON of the forwarded claims (context values must be strings, numbers or booleans). */
  claims?: string;
  [key: string]: unknown;
}

export interface WebSocketRequestContext {
  connectionId: string;
  routeKey?: string;
  eventType?: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  domainName?: string;
  stage?: string;
  requestId?: string;
  requestTimeEpoch?: number;
  connectedAt?: number;
  authorizer?: AuthorizerContext | null;
  /** `$disconnect` only: the close code, if known. */
  disconnectStatusCode?: number | null;
  /** `$disconnect` only: why the connection closed. */
  disconnectReason?: string | null;
}

export type HeaderMap = Record<string, string | undefined>;
export type MultiValueHeaderMap = Record<string, string[] | undefined>;

export interface WebSocketEvent {
  requestContext: WebSocketRequestContext;
  body?: string | null;
  isBase64Encoded?: boolean;
  /** `$connect` only. */
  headers?: HeaderMap | null;
  /** `$connect` only. */
  multiValueHeaders?: MultiValueHeaderMap | null;
  /** `$connect` only. */
  queryStringParameters?: Record<string, string | undefined> | null;
}

export interface WebSocketResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Every header value named `name`, case-insensitively, from both header maps, in order, without duplicates. */
export function headerValues(
  name: string,
  headers: HeaderMap | null | undefined,
  multiValueHeaders: MultiValueHeaderMap | null | undefined,
): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(multiValueHeaders ?? {})) {
    if (key.toLowerCase() === wanted && value) values.push(...value);
  }
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined && !values.includes(value)) values.push(value);
  }
  return values;
}

/** The subprotocols a client offered in `Sec-WebSocket-Protocol` (a comma-separated list, possibly repeated). */
export function offeredSubprotocols(
  headers: HeaderMap | null | undefined,
  multiValueHeaders: MultiValueHeaderMap | null | undefined,
): string[] {
  const offered = headerValues('sec-websocket-protocol', headers, multiValueHeaders)
    .flatMap((value) => value.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  return [...new Set(offered)];
}
