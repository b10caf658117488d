/**
 * Who may connect: the token and Origin checks of the `$connect` REQUEST authorizer, and reading the verified
 * identity back on every later route.
 *
 * The identity is whatever the authorizer returned as `context`; API Gateway attaches it to every event of the
 * connection, and nothing a client sends afterwards can change it.
 */

import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { FetchError, NonRetryableFetchError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { AuthSettings } from './config.js';
import { ConfigurationError, describeError, ForbiddenOriginError, UnauthorizedError } from './errors.js';
import { headerValues } from './events.js';
import { type Log, silentLog } from './logger.js';
import type { JsonValue } from './protocol.js';
import { BEARER_PREFIX, SUBPROTOCOL } from './wire.js';

export { BEARER_PREFIX, SUBPROTOCOL };
/** Query parameter that may carry the token instead, for clients that cannot set subprotocols. */
export const TOKEN_QUERY_PARAMETER = 'token';

/** The verified payload of a token. */
export interface VerifiedToken {
  readonly sub: string;
  readonly payload: Readonly<Record<string, JsonValue>>;
}

export interface TokenVerifier {
  /** Resolves with the verified token, or rejects (with an UnauthorizedError or the library's own error). */
  verify(token: string): Promise<VerifiedToken>;
}

export type AuthorizerRequest = Pick<APIGatewayRequestAuthorizerEvent, 'methodArn'> &
  Partial<Pick<APIGatewayRequestAuthorizerEvent, 'headers' | 'multiValueHeaders' | 'queryStringParameters'>> & {
    requestContext?: { connectionId?: string; requestId?: string } | null;
  };

/** The token a `$connect` request carries: a `bearer.` subprotocol entry first, else the `token` query parameter. */
export function extractToken(request: Omit<AuthorizerRequest, 'methodArn'>): string | undefined {
  const entries = headerValues('sec-websocket-protocol', request.headers, request.multiValueHeaders)
    .flatMap((value) => value.split(','))
    .map((entry) => entry.trim());
  const bearer = entries.find((entry) => entry.startsWith(BEARER_PREFIX));
  if (bearer !== undefined && bearer.length > BEARER_PREFIX.length) return bearer.slice(BEARER_PREFIX.length);
  const query = request.queryStringParameters?.[TOKEN_QUERY_PARAMETER];
  return query ? query : undefined;
}

/** Whether a URL hostname (as `URL.hostname` renders it) is this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Fetches a JWKS over plain http from this machine only, for the local gateway. aws-jwt-verify's own fetcher
 * speaks only https, which stays in use for every other JWKS URI.
 */
export class LoopbackJwksFetcher implements Fetcher {
  constructor(private readonly timeoutMs = 3000) {}

  async fetch(uri: string): Promise<ArrayBuffer> {
    const url = new URL(uri);
    if (!isLoopbackHost(url.hostname))
      throw new NonRetryableFetchError(uri, 'only loopback hosts are fetched over http');
    // A redirect could lead off this machine, so it is an error rather than followed.
    const response = await globalThis.fetch(url, { redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) });
    if (!response.ok) throw new FetchError(uri, `Status code is ${response.status}, expected 200`);
    return response.arrayBuffer();
  }
}

/**
 * Builds the verifier for the configured issuer, once per container (it caches the JWKS). Tokens without
 * `exp` are refused even where the library would accept them: a token that never expires cannot be revoked.
 */
export function createTokenVerifier(auth: AuthSettings | undefined): TokenVerifier {
  if (!auth) throw new ConfigurationError('The authorizer needs auth settings (SWITCHBOARD_AUTH)');
  const verify = auth.type === 'cognito' ? cognitoVerify(auth) : oidcVerify(auth);
  return {
    async verify(token) {
      const payload = await verify(token);
      if (typeof payload.exp !== 'number') throw new UnauthorizedError('token has no exp claim');
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
        throw new UnauthorizedError('token has no sub claim');
      }
      return { sub: payload.sub, payload: payload as Record<string, JsonValue> };
    },
  };
}

function cognitoVerify(auth: Extract<AuthSettings, { type: 'cognito' }>): (token: string) => Promise<JwtPayload> {
  const verifier = CognitoJwtVerifier.create({
    userPoolId: auth.userPoolId,
    clientId: auth.clientId,
    tokenUse: auth.tokenUse,
  });
  return (token) => verifier.verify(token);
}

function oidcVerify(auth: Extract<AuthSettings, { type: 'oidc' }>): (token: string) => Promise<JwtPayload> {
  const jwksUrl = new URL(auth.jwksUri);
  let jwksCache: SimpleJwksCache | undefined;
  if (jwksUrl.protocol === 'http:') {
    if (!isLoopbackHost(jwksUrl.hostname)) {
      throw new ConfigurationError(
        `The JWKS URI ${auth.jwksUri} uses plain http; only https is allowed, or http on a loopback host for local use`,
      );
    }
    jwksCache = new SimpleJwksCache({ fetcher: new LoopbackJwksFetcher() });
  } else if (jwksUrl.protocol !== 'https:') {
    throw new ConfigurationError(`The JWKS URI ${auth.jwksUri} must be https`);
  }
  const verifier = JwtVerifier.create(
    { issuer: auth.issuer, audience: auth.audience, jwksUri: auth.jwksUri },
    jwksCache ? { jwksCache } : undefined,
  );
  return (token) => verifier.verify(token);
}

/**
 * The origin allow-list, checked at container start: an unset list fails closed, so turning the check off is
 * always an explicit `null`.
 */
export function requireOriginSetting(allowedOrigins: readonly string[] | null | undefined): readonly string[] | null {
  if (allowedOrigins === undefined) {
    throw new ConfigurationError(
      'The Origin allow-list (SWITCHBOARD_ALLOWED_ORIGINS) is not configured: set allowedOrigins, or null to disable',
    );
  }
  return allowedOrigins;
}

const normalizeOrigin = (origin: string) => origin.trim().toLowerCase().replace(/\/$/, '');

/** Whether every Origin header of a request is allowed. No Origin (a non-browser client) is allowed. */
export function originsAllowed(origins: readonly string[], allowedOrigins: readonly string[] | null): boolean {
  if (allowedOrigins === null) return true;
  const allowed = new Set(allowedOrigins.map(normalizeOrigin));
  return origins.every((origin) => allowed.has(normalizeOrigin(origin)));
}

export interface AuthorizeOptions {
  verifier: TokenVerifier;
  /** `null` switches the Origin check off. */
  allowedOrigins: readonly string[] | null;
  /** Claims forwarded besides `sub`. */
  forwardClaims: readonly string[];
  roomsClaim: string;
  log?: Log;
}

/** The message API Gateway turns into a 401; any other error becomes a 500. */
export const UNAUTHORIZED = 'Unauthorized';

/**
 * Decides a `$connect` request: Allow with the identity as context, Deny (403) for a disallowed Origin, or a
 * thrown `Error('Unauthorized')` (401) for a missing or invalid token. Every failure is logged with its reason
 * and never with the token.
 */
export async function authorizeConnection(
  request: AuthorizerRequest,
  options: AuthorizeOptions,
): Promise<APIGatewayAuthorizerResult> {
  const log = options.log ?? silentLog;
  const origins = headerValues('origin', request.headers, request.multiValueHeaders);
  if (!originsAllowed(origins, options.allowedOrigins)) {
    const denial = new ForbiddenOriginError(origins.join(', '));
    log.warn('Connection denied', { reason: denial.message });
    return policy('Deny', 'anonymous', request.methodArn);
  }
  let verified: VerifiedToken;
  try {
    const token = extractToken(request);
    if (!token) throw new UnauthorizedError('no token in Sec-WebSocket-Protocol or the token query parameter');
    verified = await options.verifier.verify(token);
  } catch (error) {
    log.warn('Connection unauthorized', { reason: describeError(error) });
    throw new Error(UNAUTHORIZED);
  }
  const claims: Record<string, JsonValue> = {};
  for (const name of new Set([...options.forwardClaims, options.roomsClaim])) {
    const value = verified.payload[name];
    if (value !== undefined) claims[name] = value;
  }
  log.info('Connection authorized', { sub: verified.sub });
  return {
    ...policy('Allow', verified.sub, request.methodArn),
    // API Gateway context values must be strings, numbers or booleans, so the claims travel as JSON.
    context: { sub: verified.sub, claims: JSON.stringify(claims) },
  };
}

function policy(effect: 'Allow' | 'Deny', principalId: string, methodArn: string): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: methodArn }],
    },
  };
}
