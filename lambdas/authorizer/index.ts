/**
 * `$connect` REQUEST authorizer: verifies the JWT (from the `bearer.` subprotocol entry or the `token` query
 * parameter) and the Origin, and returns the IAM policy API Gateway expects.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayAuthorizerResult, Context } from 'aws-lambda';
import {
  type AuthorizerRequest,
  authorizeConnection,
  createTokenVerifier,
  requireOriginSetting,
  type TokenVerifier,
} from '../core/auth.js';
import { type HandlerSettings, loadConfig } from '../core/config.js';
import { invocationLogger, rootLogger } from '../core/logger.js';

export interface AuthorizerDeps {
  verifier: TokenVerifier;
  logger: Logger;
}

export type AuthorizerHandler = (
  event: AuthorizerRequest,
  context?: Partial<Context>,
) => Promise<APIGatewayAuthorizerResult>;

/**
 * Builds the authorizer. Throws a ConfigurationError when auth or the Origin allow-list is not configured, so
 * a misconfigured container refuses every connection instead of letting any through.
 */
export function createHandler(settings: HandlerSettings, overrides: Partial<AuthorizerDeps> = {}): AuthorizerHandler {
  const allowedOrigins = requireOriginSetting(settings.allowedOrigins);
  // Once per container: the verifier caches the JWKS between invocations.
  const verifier = overrides.verifier ?? createTokenVerifier(settings.auth);
  const logger = overrides.logger ?? rootLogger;
  return async (event) => {
    const log = invocationLogger(
      { connectionId: event.requestContext?.connectionId, requestId: event.requestContext?.requestId },
      logger,
    );
    return authorizeConnection(event, {
      verifier,
      allowedOrigins,
      forwardClaims: settings.forwardClaims,
      roomsClaim: settings.roomsClaim,
      log,
    });
  };
}

let cached: AuthorizerHandler | undefined;

/** The Lambda entry point. Reads its configuration on the first invocation, not at import. */
export const handler: AuthorizerHandler = async (event, context) => {
  cached ??= createHandler(loadConfig());
  return cached(event, context);
};
