import { describe, expect, it } from 'vitest';
import { extractToken, isLoopbackHost, LoopbackJwksFetcher, originsAllowed } from '../../lambdas/core/auth.js';
import { MissingIdentityError } from '../../lambdas/core/errors.js';
import { identityFromRequestContext } from '../../lambdas/core/identity.js';

describe('extractToken', () => {
  it('takes the token from the bearer. subprotocol entry', () => {
    const token = extractToken({ headers: { 'sec-websocket-protocol': 'switchboard.v1, bearer.aaa.bbb.ccc' } });

    expect(token).toBe('aaa.bbb.ccc');
  });

  it('prefers the subprotocol entry over the query parameter', () => {
    const token = extractToken({
      headers: { 'Sec-WebSocket-Protocol': 'bearer.from-header' },
      queryStringParameters: { token: 'from-query' },
    });

    expect(token).toBe('from-header');
  });

  it('falls back to the token query parameter', () => {
    expect(extractToken({ headers: {}, queryStringParameters: { token: 'from-query' } })).toBe('from-query');
  });

  it('finds nothing in an empty bearer entry or an empty query parameter', () => {
    const token = extractToken({
      headers: { 'sec-websocket-protocol': 'bearer.' },
      queryStringParameters: { token: '' },
    });

    expect(token).toBeUndefined();
  });
});

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '[::1]'])('treats %s as loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(['10.0.0.1', 'example.com', 'localhost.example.com', '127.0.0.1.nip.io', '[::2]'])(
    'treats %s as remote',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

describe('LoopbackJwksFetcher', () => {
  it('refuses to fetch from a remote host', async () => {
    await expect(new LoopbackJwksFetcher().fetch('http://example.com/jwks.json')).rejects.toThrow(/loopback/);
  });
});

describe('originsAllowed', () => {
  const allowList = ['https://app.example.com', 'http://localhost:5173/'];

  it('allows a request without an Origin header', () => {
    expect(originsAllowed([], allowList)).toBe(true);
  });

  it('allows a listed origin, ignoring case and a trailing slash in the list', () => {
    expect(originsAllowed(['https://APP.example.com'], allowList)).toBe(true);
    expect(originsAllowed(['http://localhost:5173'], allowList)).toBe(true);
  });

  it('refuses an unlisted origin, and a request with any unlisted origin among several', () => {
    expect(originsAllowed(['https://app.example.com.evil.io'], allowList)).toBe(false);
    expect(originsAllowed(['https://app.example.com', 'https://evil.io'], allowList)).toBe(false);
  });

  it('allows everything when the check is switched off with null', () => {
    expect(originsAllowed(['https://evil.io'], null)).toBe(true);
  });
});

describe('identityFromRequestContext', () => {
  it('reads sub and the forwarded claims the authorizer attached', () => {
    const identity = identityFromRequestContext({
      authorizer: { principalId: 'u1', sub: 'u1', claims: '{"rooms":["team:*"]}' },
    });

    expect(identity).toEqual({ sub: 'u1', claims: { rooms: ['team:*'] } });
  });

  it('treats absent claims as none', () => {
    expect(identityFromRequestContext({ authorizer: { sub: 'u1' } })).toEqual({ sub: 'u1', claims: {} });
  });

  it.each([
    ['no authorizer', {}],
    ['a null authorizer', { authorizer: null }],
    ['no sub', { authorizer: { claims: '{}' } }],
    ['claims that are not JSON', { authorizer: { sub: 'u1', claims: '{' } }],
    ['claims that are not an object', { authorizer: { sub: 'u1', claims: '[1]' } }],
  ])('refuses a context with %s', (_case, context) => {
    expect(() => identityFromRequestContext(context)).toThrow(MissingIdentityError);
  });
});
