/**
 * The one definition of the WebSocket API's routes and the Lambda handlers behind them.
 *
 * The CDK stack builds its routes and functions from this table, and the local gateway loads the very same
 * handler entries and routes frames with the same selection expression. Nothing else lists routes.
 */

/** Names of the Lambda handlers this project deploys. */
export type HandlerName = 'authorizer' | 'connect' | 'disconnect' | 'default' | 'publish';

export interface HandlerDefinition {
  /** Path of the handler's entry file, relative to the repository root. */
  readonly entry: string;
  /** What the function does, used as the Lambda description. */
  readonly description: string;
  /** Memory size in MB. */
  readonly memorySize: number;
  /**
   * Timeout in seconds. Route handlers stay under API Gateway's 29 s integration timeout, so a slow handler
   * fails inside Lambda with a log line rather than as an opaque gateway timeout.
   */
  readonly timeoutSeconds: number;
}

export const HANDLERS: Readonly<Record<HandlerName, HandlerDefinition>> = {
  authorizer: {
    entry: 'lambdas/authorizer/index.ts',
    description: 'switchboard: verifies the JWT and Origin of a WebSocket $connect request',
    memorySize: 512,
    timeoutSeconds: 10,
  },
  connect: {
    entry: 'lambdas/connect/index.ts',
    description: 'switchboard: records a new WebSocket connection',
    memorySize: 512,
    timeoutSeconds: 10,
  },
  disconnect: {
    entry: 'lambdas/disconnect/index.ts',
    description: 'switchboard: removes a closed connection and its room memberships',
    memorySize: 512,
    timeoutSeconds: 20,
  },
  default: {
    entry: 'lambdas/default/index.ts',
    description: 'switchboard: wire protocol v1 (join, leave, send, ping)',
    memorySize: 1024,
    timeoutSeconds: 28,
  },
  publish: {
    entry: 'lambdas/publish/index.ts',
    description: 'switchboard: delivers notifications from backend services to users, rooms or connections',
    memorySize: 1024,
    timeoutSeconds: 60,
  },
};

/**
 * API Gateway evaluates this against each incoming frame. Every action is served by `$default`, which
 * validates the frame against the protocol schema, so an unknown action gets a protocol error instead of
 * API Gateway's generic "Forbidden" reply.
 */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

export type RouteKey = '$connect' | '$disconnect' | '$default' | (string & {});

export interface RouteDefinition {
  readonly handler: Exclude<HandlerName, 'authorizer' | 'publish'>;
  /** Whether the REQUEST authorizer guards this route. API Gateway allows an authorizer only on `$connect`. */
  readonly authorized: boolean;
  /**
   * Two-way route: the handler's `body` is sent back to the calling connection (a route response), which saves
   * a `@connections` call, and the account quota it counts toward, for every reply.
   */
  readonly returnResponse: boolean;
}

export const ROUTES: Readonly<Record<string, RouteDefinition>> = {
  $connect: { handler: 'connect', authorized: true, returnResponse: false },
  $disconnect: { handler: 'disconnect', authorized: false, returnResponse: false },
  $default: { handler: 'default', authorized: false, returnResponse: true },
};

/**
 * Picks the route for a frame the way API Gateway does for `$request.body.<path>`: a frame that is not JSON,
 * or whose selected value names no route, goes to `$default`.
 */
export function selectRoute(
  body: string,
  expression: string = ROUTE_SELECTION_EXPRESSION,
  routes: Readonly<Record<string, RouteDefinition>> = ROUTES,
): string {
  const prefix = '$request.body.';
  if (!expression.startsWith(prefix)) {
    throw new Error(`Unsupported route selection expression ${expression}: expected ${prefix}<path>`);
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return '$default';
  }
  for (const segment of expression.slice(prefix.length).split('.')) {
    if (value === null || typeof value !== 'object') return '$default';
    value = (value as Record<string, unknown>)[segment];
  }
  if (typeof value === 'string' && !value.startsWith('$') && Object.hasOwn(routes, value)) return value;
  return '$default';
}
