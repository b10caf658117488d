/**
 * The verified identity of a connection, as every route after `$connect` reads it.
 *
 * Its own module, apart from the authorizer's token verification in auth.ts, so the route handlers' bundles do
 * not carry aws-jwt-verify: only the authorizer verifies tokens.
 */
import { MissingIdentityError } from './errors.js';
import type { JsonValue } from './protocol.js';

/** A verified caller: the token's `sub` and the claims the authorizer forwarded. */
export interface Identity {
  readonly sub: string;
  readonly claims: Readonly<Record<string, JsonValue>>;
}

/** The identity the authorizer attached to this connection. Throws MissingIdentityError when there is none. */
export function identityFromRequestContext(requestContext: { authorizer?: unknown }): Identity {
  const authorizer = requestContext.authorizer;
  if (authorizer === null || typeof authorizer !== 'object') {
    throw new MissingIdentityError('The request has no authorizer context');
  }
  const { sub, claims } = authorizer as { sub?: unknown; claims?: unknown };
  if (typeof sub !== 'string' || sub.length === 0) throw new MissingIdentityError('The authorizer context has no sub');
  let parsed: unknown = {};
  if (typeof claims === 'string' && claims.length > 0) {
    try {
      parsed = JSON.parse(claims);
    } catch (cause) {
      throw new MissingIdentityError('The authorizer context claims are not JSON', { cause });
    }
  } else if (claims !== undefined && claims !== null && typeof claims === 'object') {
    parsed = claims;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new MissingIdentityError('The authorizer context claims are not an object');
  }
  return { sub, claims: parsed as Record<string, JsonValue> };
}
