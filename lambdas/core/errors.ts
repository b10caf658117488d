/**
 * The handlers' error hierarchy. Each error sets `name`, keeps its `cause`, and carries what the boundary
 * needs: a stable protocol code for a client, or the list of problems for a producer. Errors turn into replies,
 * status codes or policies only in the handler files, so nothing internal crosses to a caller.
 */
import { ConfigurationError } from './config.js';
import type { ErrorCode } from './protocol.js';

export { ConfigurationError };

export abstract class SwitchboardError extends Error {
  abstract override readonly name: string;
}

/**
 * A client request that the protocol refuses. `message` is shown to the client, so it states the problem in
 * plain words and never names anything internal.
 */
export class ProtocolError extends SwitchboardError {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The connection request carries no valid token. `message` is for logs only: the client only ever sees 401. */
export class UnauthorizedError extends SwitchboardError {
  override readonly name = 'UnauthorizedError';
}

/** The `$connect` request came from an Origin outside the allow-list. */
export class ForbiddenOriginError extends SwitchboardError {
  override readonly name = 'ForbiddenOriginError';
  constructor(
    readonly origin: string,
    options?: ErrorOptions,
  ) {
    super(`Origin ${JSON.stringify(origin.slice(0, 200))} is not allowed`, options);
  }
}

/** The request context lacks the identity the authorizer attaches, so the route was reached without it. */
export class MissingIdentityError extends SwitchboardError {
  override readonly name = 'MissingIdentityError';
}

/** One or more items of a publish request are invalid. Nothing was sent. */
export class PublishValidationError extends SwitchboardError {
  override readonly name = 'PublishValidationError';
  constructor(
    readonly problems: readonly string[],
    options?: ErrorOptions,
  ) {
    super(`Invalid publish input: ${problems.join('; ')}`, options);
  }
}

/** DynamoDB kept refusing part of a batch write after every retry. */
export class StoreError extends SwitchboardError {
  override readonly name = 'StoreError';
}

/**
 * One line for a log: the error's class and message, never its stack. aws-jwt-verify's errors keep the name
 * `Error`, so their class (JwtExpiredError, ...) is what says what failed.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const name = error.name === 'Error' ? error.constructor.name : error.name;
  return `${name}: ${error.message}`;
}
