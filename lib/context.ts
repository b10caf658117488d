/**
 * Deployment settings read from CDK context, so a platform engineer configures a deployment without code:
 * in `cdk.json` (`"context": {...}`, values as JSON) or on the command line (`-c key=value`, values as strings,
 * JSON where a list or object is expected). See docs/deploy.md.
 *
 * | key                        | value                                                                           |
 * |----------------------------|---------------------------------------------------------------------------------|
 * | `auth`                     | `{"type":"cognito","userPoolId":"…","clientId":"…","tokenUse":"id"\|"access"}`   |
 * |                            | or `{"type":"oidc","issuer":"https://…","audience":"…","jwksUri":"https://…"}`  |
 * | `allowedOrigins`           | `["https://app.example.com"]` (or `a,b`); `null` switches the Origin check off |
 * | `stageName`                | stage and last URL segment, default `prod`                                      |
 * | `throttleRateLimit`        | requests per second per route, default 1000                                     |
 * | `throttleBurstLimit`       | burst per route, default 2000                                                   |
 * | `logRetentionDays`         | days logs are kept, a CloudWatch Logs value (1, 3, 5, 7, 14, 30, …), default 30 |
 * | `forwardClaims`            | JWT claims copied into the connection context besides `sub`, default none       |
 * | `roomsClaim`               | claim listing joinable rooms, default `rooms`                                   |
 * | `fanoutConcurrency`        | parallel sends per fan-out, default 64                                          |
 * | `removalPolicy`            | `retain` (default) or `destroy`: what happens to table and logs on delete       |
 * | `apiGatewayCloudWatchRole` | `false` when another stack sets API Gateway's account logging role              |
 * | `sourceMaps`               | `true` for TypeScript stack traces, at some cold-start cost; default `false`    |
 * | `stackName`                | default `Switchboard`                                                           |
 *
 * Without `auth` and `allowedOrigins` the app still synthesizes, with placeholder values that are reported:
 * a stack deployed with them refuses every connection, because no token is ever issued by the placeholder pool.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import type { AuthSettings } from '../lambdas/core/config.js';
import type { SwitchboardProps } from './switchboard.js';

export const PLACEHOLDER_AUTH: AuthSettings = {
  type: 'cognito',
  userPoolId: 'us-east-1_PLACEHOLDER',
  clientId: 'placeholder-client-id',
  tokenUse: 'id',
};
export const PLACEHOLDER_ALLOWED_ORIGINS = ['https://app.example.com'];

export interface DeploymentSettings {
  readonly stackName: string;
  readonly switchboard: SwitchboardProps;
  /** Context keys that were missing and replaced by placeholders. Empty for a real deployment. */
  readonly placeholders: readonly string[];
}

export class ContextError extends Error {
  override readonly name = 'ContextError';
}

/** Reads the deployment settings from the context of `node` (usually the app's). */
export function settingsFromContext(node: Node): DeploymentSettings {
  const placeholders: string[] = [];
  const get = (key: string): unknown => node.tryGetContext(key);

  let auth = json(get('auth'), 'auth') as AuthSettings | undefined;
  if (auth === undefined) {
    placeholders.push('auth');
    auth = PLACEHOLDER_AUTH;
  }
  let allowedOrigins = list(get('allowedOrigins'), 'allowedOrigins', { nullable: true });
  if (allowedOrigins === undefined) {
    placeholders.push('allowedOrigins');
    allowedOrigins = PLACEHOLDER_ALLOWED_ORIGINS;
  }

  const rateLimit = number(get('throttleRateLimit'), 'throttleRateLimit');
  const burstLimit = number(get('throttleBurstLimit'), 'throttleBurstLimit');
  return {
    stackName: string(get('stackName'), 'stackName') ?? 'Switchboard',
    placeholders,
    switchboard: {
      auth,
      allowedOrigins,
      stageName: string(get('stageName'), 'stageName'),
      throttle: rateLimit === undefined && burstLimit === undefined ? undefined : { rateLimit, burstLimit },
      logRetention: number(get('logRetentionDays'), 'logRetentionDays') as RetentionDays | undefined,
      forwardClaims: list(get('forwardClaims'), 'forwardClaims') ?? undefined,
      roomsClaim: string(get('roomsClaim'), 'roomsClaim'),
      fanoutConcurrency: number(get('fanoutConcurrency'), 'fanoutConcurrency'),
      removalPolicy: removalPolicy(get('removalPolicy')),
      apiGatewayCloudWatchRole: boolean(get('apiGatewayCloudWatchRole'), 'apiGatewayCloudWatchRole'),
      sourceMaps: boolean(get('sourceMaps'), 'sourceMaps'),
    },
  };
}

/** `-c key=value` always gives a string; `cdk.json` gives JSON values. */
function json(value: unknown, key: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new ContextError(`Context ${key} must be JSON, got ${JSON.stringify(value)}`);
  }
}

function list(value: unknown, key: string, options: { nullable?: boolean } = {}): string[] | null | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const text = value.trim();
    value = text.startsWith('[') || text === 'null' ? json(text, key) : text.split(',').map((item) => item.trim());
  }
  if (value === null && options.nullable) return null;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value;
  throw new ContextError(
    `Context ${key} must be a list of strings (JSON array or comma-separated)${options.nullable ? ' or null' : ''}, ` +
      `got ${JSON.stringify(value)}`,
  );
}

function string(value: unknown, key: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new ContextError(`Context ${key} must be a string, got ${JSON.stringify(value)}`);
}

function number(value: unknown, key: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof parsed === 'number' && Number.isFinite(parsed)) return parsed;
  throw new ContextError(`Context ${key} must be a number, got ${JSON.stringify(value)}`);
}

function boolean(value: unknown, key: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ContextError(`Context ${key} must be true or false, got ${JSON.stringify(value)}`);
}

function removalPolicy(value: unknown): RemovalPolicy | undefined {
  if (value === undefined) return undefined;
  if (value === 'retain') return RemovalPolicy.RETAIN;
  if (value === 'destroy') return RemovalPolicy.DESTROY;
  throw new ContextError(`Context removalPolicy must be "retain" or "destroy", got ${JSON.stringify(value)}`);
}
