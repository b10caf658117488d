/**
 * The one definition of the settings the handlers read from their environment.
 *
 * The CDK stack writes these variables with `toEnvironment`, the local gateway does the same for its
 * in-process handlers, and each handler reads them once per container with `loadConfig`. A missing or
 * malformed setting fails the container at start with a message naming the variable, never a request.
 */
import * as z from 'zod/mini';
import './zod-locale.js';

/** How the authorizer verifies tokens: a Cognito user pool, or any OIDC issuer. */
export const AuthSettings = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('cognito'),
    userPoolId: z
      .string()
      .check(z.regex(/^[\w-]+_[0-9a-zA-Z]+$/, 'a Cognito user pool id looks like eu-west-1_AbC123')),
    /** App client id(s) the token must be issued to. */
    clientId: z.union([
      z.string().check(z.minLength(1)),
      z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
    ]),
    tokenUse: z.enum(['id', 'access']),
  }),
  z.strictObject({
    type: z.literal('oidc'),
    issuer: z.url(),
    /** Expected `aud` (or `client_id` for access tokens without `aud`, see README). */
    audience: z.union([
      z.string().check(z.minLength(1)),
      z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
    ]),
    jwksUri: z.url(),
  }),
]);
export type AuthSettings = z.infer<typeof AuthSettings>;

export const HandlerSettings = z.strictObject({
  /** DynamoDB table holding connections and memberships. */
  tableName: z.string().check(z.minLength(1)),
  /** The stage's management API endpoint, `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`. */
  callbackUrl: z.optional(z.url()),
  auth: z.optional(AuthSettings),
  /**
   * Origins allowed to open a connection (checked when the client sends an Origin header, as browsers do).
   * `null` switches the check off, which must be asked for explicitly.
   */
  allowedOrigins: z.optional(z.nullable(z.array(z.string().check(z.minLength(1))))),
  /** JWT claims copied into the authorizer context besides `sub`, available to every route. */
  forwardClaims: z._default(z.array(z.string().check(z.minLength(1))), []),
  /** Claim that lists rooms (or `prefix:*` patterns) an identity may join beyond `public:*` and its own. */
  roomsClaim: z._default(z.string().check(z.minLength(1)), 'rooms'),
  /** Parallel `postToConnection` calls in one fan-out. */
  fanoutConcurrency: z._default(z.int().check(z.minimum(1), z.maximum(1000)), 64),
});
export type HandlerSettings = z.infer<typeof HandlerSettings>;
export type HandlerSettingsInput = z.input<typeof HandlerSettings>;

/** Environment variable names, one per setting. */
export const ENV = {
  tableName: 'SWITCHBOARD_TABLE_NAME',
  callbackUrl: 'SWITCHBOARD_CALLBACK_URL',
  auth: 'SWITCHBOARD_AUTH',
  allowedOrigins: 'SWITCHBOARD_ALLOWED_ORIGINS',
  forwardClaims: 'SWITCHBOARD_FORWARD_CLAIMS',
  roomsClaim: 'SWITCHBOARD_ROOMS_CLAIM',
  fanoutConcurrency: 'SWITCHBOARD_FANOUT_CONCURRENCY',
} as const satisfies Record<keyof HandlerSettings, string>;

const JSON_SETTINGS = new Set<keyof HandlerSettings>(['auth', 'allowedOrigins', 'forwardClaims', 'fanoutConcurrency']);

/** Renders settings as Lambda environment variables. Unset optional settings are left out. */
export function toEnvironment(settings: Partial<HandlerSettingsInput>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, name] of Object.entries(ENV) as [keyof HandlerSettings, string][]) {
    const value = settings[key];
    if (value === undefined) continue;
    env[name] = JSON_SETTINGS.has(key) ? JSON.stringify(value) : String(value);
  }
  return env;
}

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** Reads and validates the settings from an environment (by default `process.env`). */
export function loadConfig(env: Record<string, string | undefined> = process.env): HandlerSettings {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV) as [keyof HandlerSettings, string][]) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (!JSON_SETTINGS.has(key)) {
      raw[key] = value;
      continue;
    }
    try {
      raw[key] = JSON.parse(value);
    } catch (cause) {
      throw new ConfigurationError(`${name} must be JSON, got ${JSON.stringify(value.slice(0, 80))}`, { cause });
    }
  }
  const parsed = HandlerSettings.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${ENV[i.path[0] as keyof HandlerSettings] ?? i.path.join('.')}: ${i.message}`,
    );
    throw new ConfigurationError(`Invalid switchboard configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}
