import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AuthorizerHandler, createHandler } from '../../lambdas/authorizer/index.js';
import type { AuthorizerRequest, TokenVerifier } from '../../lambdas/core/auth.js';
import { type HandlerSettings, HandlerSettings as HandlerSettingsSchema } from '../../lambdas/core/config.js';
import { ConfigurationError } from '../../lambdas/core/errors.js';
import {
  generateSigningKey,
  type JwksServer,
  type SigningKey,
  signJwt,
  startJwksServer,
  unsignedJwt,
  validClaims,
} from '../support/jwt.js';

const ISSUER = 'https://issuer.test/dev';
const AUDIENCE = 'switchboard-test';
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/$connect';

function settings(jwksUri: string, extra: Partial<HandlerSettings> = {}): HandlerSettings {
  return HandlerSettingsSchema.parse({
    tableName: 'connections',
    auth: { type: 'oidc', issuer: ISSUER, audience: AUDIENCE, jwksUri },
    allowedOrigins: ['https://app.example.com'],
    forwardClaims: ['email'],
    ...extra,
  });
}

function request(
  options: { token?: string; origin?: string; headers?: Record<string, string>; query?: Record<string, string> } = {},
): AuthorizerRequest {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['Sec-WebSocket-Protocol'] = `switchboard.v1, bearer.${options.token}`;
  if (options.origin !== undefined) headers.Origin = options.origin;
  return {
    methodArn: METHOD_ARN,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: options.query ?? null,
    requestContext: { connectionId: 'conn-1', requestId: 'req-1' },
  };
}

/** Runs `act` and returns what API Gateway would answer: the policy effect, or the status of a throw. */
async function outcome(act: () => Promise<{ policyDocument: { Statement: unknown[] } }>) {
  try {
    const result = await act();
    return (result.policyDocument.Statement[0] as { Effect: string }).Effect;
  } catch (error) {
    // API Gateway answers 401 for exactly this message and 500 for anything else.
    return (error as Error).message === 'Unauthorized' ? '401' : '500';
  }
}

describe('authorizer', () => {
  let key: SigningKey;
  let jwks: JwksServer;
  let authorize: AuthorizerHandler;

  beforeAll(async () => {
    key = generateSigningKey();
    jwks = await startJwksServer([key]);
    authorize = createHandler(settings(jwks.jwksUri));
  });

  afterAll(async () => {
    await jwks.close();
  });

  it('allows a valid token offered as a bearer subprotocol entry, fetching the JWKS over loopback http', async () => {
    // Prepare
    const token = signJwt(
      validClaims(ISSUER, AUDIENCE, { email: 'a@example.com', rooms: ['team:*'], secret: 'x' }),
      key,
    );

    // Act
    const result = await authorize(request({ token }));

    // Assess
    expect(result.principalId).toBe('user-1');
    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN },
    ]);
    expect(result.context).toEqual({
      sub: 'user-1',
      claims: JSON.stringify({ email: 'a@example.com', rooms: ['team:*'] }),
    });
    expect(jwks.requests()).toBeGreaterThan(0);
  });

  it('allows a valid token in the token query parameter', async () => {
    const token = signJwt(validClaims(ISSUER, AUDIENCE, { sub: 'user-2' }), key);

    const result = await authorize(request({ query: { token } }));

    expect(result.principalId).toBe('user-2');
    expect(await outcome(async () => result)).toBe('Allow');
  });

  it('finds the subprotocol header whatever its case, in multiValueHeaders alone', async () => {
    const token = signJwt(validClaims(ISSUER, AUDIENCE), key);
    const event: AuthorizerRequest = {
      methodArn: METHOD_ARN,
      headers: null,
      multiValueHeaders: { 'SEC-WEBSOCKET-PROTOCOL': ['switchboard.v1', `bearer.${token}`] },
      queryStringParameters: null,
    };

    expect(await outcome(() => authorize(event))).toBe('Allow');
  });

  it('rejects a request without a token with 401', async () => {
    expect(await outcome(() => authorize(request()))).toBe('401');
  });

  it('rejects an expired token with 401', async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    const token = signJwt(validClaims(ISSUER, AUDIENCE, {}, past), key);

    expect(await outcome(() => authorize(request({ token })))).toBe('401');
  });

  it('rejects a token from another issuer with 401', async () => {
    const token = signJwt(validClaims('https://evil.test/', AUDIENCE), key);

    expect(await outcome(() => authorize(request({ token })))).toBe('401');
  });

  it('rejects a token for another audience with 401', async () => {
    const token = signJwt(validClaims(ISSUER, 'another-app'), key);

    expect(await outcome(() => authorize(request({ token })))).toBe('401');
  });

  it('rejects a token signed with another key under the same kid with 401', async () => {
    const foreign = { ...generateSigningKey(key.kid) };
    const token = signJwt(validClaims(ISSUER, AUDIENCE), foreign);

    expect(await outcome(() => authorize(request({ token })))).toBe('401');
  });

  it('rejects an unsigned token (alg none) with 401', async () => {
    const token = unsignedJwt(validClaims(ISSUER, AUDIENCE), key.kid);

    expect(await outcome(() => authorize(request({ token })))).toBe('401');
  });

  it('rejects a token without exp with 401', async () => {
    const { exp: _exp, ...claims } = validClaims(ISSUER, AUDIENCE);
    const token = signJwt(claims, key);

    expect(await outcome(() => authorize(request({ token })))).toBe('401');
  });

  it('rejects a token without sub with 401', async () => {
    const { sub: _sub, ...claims } = validClaims(ISSUER, AUDIENCE);
    const token = signJwt(claims, key);

    expect(await outcome(() => authorize(request({ token })))).toBe('401');
  });

  it('rejects garbage in place of a token with 401', async () => {
    expect(await outcome(() => authorize(request({ token: 'not-a-jwt' })))).toBe('401');
  });

  it('denies (403) a browser from an Origin outside the allow-list, even with a valid token', async () => {
    const token = signJwt(validClaims(ISSUER, AUDIENCE), key);

    expect(await outcome(() => authorize(request({ token, origin: 'https://evil.example.com' })))).toBe('Deny');
  });

  it('allows a browser from an allowed Origin', async () => {
    const token = signJwt(validClaims(ISSUER, AUDIENCE), key);

    expect(await outcome(() => authorize(request({ token, origin: 'https://app.example.com' })))).toBe('Allow');
  });

  it('allows any Origin when the allow-list is explicitly null', async () => {
    const open = createHandler(settings(jwks.jwksUri, { allowedOrigins: null }));
    const token = signJwt(validClaims(ISSUER, AUDIENCE), key);

    expect(await outcome(() => open(request({ token, origin: 'https://anywhere.example.org' })))).toBe('Allow');
  });

  it('turns an unexpected verifier failure into 401, never a 500', async () => {
    const broken: TokenVerifier = { verify: () => Promise.reject(new TypeError('boom')) };
    const guarded = createHandler(settings(jwks.jwksUri), { verifier: broken });

    expect(await outcome(() => guarded(request({ token: 'anything' })))).toBe('401');
  });

  it('logs why a token was refused, never the token', async () => {
    // Prepare: dev mode makes Powertools print through the global console, which the test can watch.
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    const lines: string[] = [];
    const record = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    };
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation(record),
    );
    const logger = new Logger({ serviceName: 'test', logLevel: 'DEBUG' });
    const logged = createHandler(settings(jwks.jwksUri), { logger });
    const token = signJwt(validClaims(ISSUER, 'another-app'), key);

    // Act
    try {
      await outcome(() => logged(request({ token })));
    } finally {
      for (const spy of spies) spy.mockRestore();
      vi.unstubAllEnvs();
    }

    // Assess
    const output = lines.join('\n');
    expect(output).toContain('Connection unauthorized');
    expect(output).toContain('conn-1');
    expect(output).not.toContain(token.split('.')[1]);
    expect(output).not.toContain(token.split('.')[2]);
  });
});

describe('authorizer configuration', () => {
  it('fails closed at start when the Origin allow-list is not configured', () => {
    const config = settings('https://issuer.test/jwks.json', {});
    const { allowedOrigins: _unset, ...withoutOrigins } = config;

    expect(() => createHandler(withoutOrigins as HandlerSettings)).toThrow(/set allowedOrigins, or null to disable/);
  });

  it('refuses a plain http JWKS URI on a non-loopback host', () => {
    expect(() => createHandler(settings('http://issuer.test/jwks.json'))).toThrow(ConfigurationError);
  });

  it('accepts a plain http JWKS URI on localhost', () => {
    expect(() => createHandler(settings('http://localhost:9999/jwks.json'))).not.toThrow();
  });

  it('refuses to start without auth settings', () => {
    const { auth: _auth, ...withoutAuth } = settings('https://issuer.test/jwks.json');

    expect(() => createHandler(withoutAuth as HandlerSettings)).toThrow(ConfigurationError);
  });
});

describe('authorizer with a Cognito user pool', () => {
  it('refuses a token from another issuer than the user pool', async () => {
    // Prepare
    const cognito = createHandler(
      HandlerSettingsSchema.parse({
        tableName: 'connections',
        auth: { type: 'cognito', userPoolId: 'us-east-1_Abc123', clientId: 'client-1', tokenUse: 'id' },
        allowedOrigins: null,
      }),
    );
    const key = generateSigningKey();
    const token = signJwt(validClaims('https://evil.test/', 'client-1', { token_use: 'id' }), key);

    // Act
    const result = await outcome(() => cognito(request({ token })));

    // Assess
    expect(result).toBe('401');
  });
});
