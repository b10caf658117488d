/** The dev signing key on disk and the dev token signer. */
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtVerifier } from 'aws-jwt-verify';
import type { Jwks } from 'aws-jwt-verify/jwk';
import { describe, expect, it } from 'vitest';
import {
  DEV_AUDIENCE,
  DEV_ISSUER,
  jwksOf,
  KEY_FILE,
  loadOrCreateSigningKey,
  parseDuration,
  signDevToken,
} from '../../local/dev-tokens.js';

describe('the dev signing key', () => {
  it('is created once with mode 0600 and reused on the next start', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'switchboard-key-')), 'state');

    const first = await loadOrCreateSigningKey(dir);
    const second = await loadOrCreateSigningKey(dir);

    expect(second.jwk).toEqual(first.jwk);
    expect((await stat(join(dir, KEY_FILE))).mode & 0o777).toBe(0o600);
  });

  it('is the same key for processes that start at the same time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchboard-key-'));
    const keys = await Promise.all([1, 2, 3].map(() => loadOrCreateSigningKey(dir)));
    const reloaded = await loadOrCreateSigningKey(dir);
    expect(keys.map((k) => k.jwk.kid)).toEqual([reloaded.jwk.kid, reloaded.jwk.kid, reloaded.jwk.kid]);
  });
});

describe('signDevToken', () => {
  it('signs a token aws-jwt-verify accepts against the JWKS', async () => {
    const key = await loadOrCreateSigningKey(await mkdtemp(join(tmpdir(), 'switchboard-key-')));
    const verifier = JwtVerifier.create({
      issuer: DEV_ISSUER,
      audience: DEV_AUDIENCE,
      jwksUri: 'https://unused.example/jwks',
    });
    // The JWKS as the gateway serves it, parsed back from JSON as the authorizer's fetcher would.
    verifier.cacheJwks(JSON.parse(JSON.stringify(jwksOf(key))) as Jwks);

    const payload = await verifier.verify(signDevToken(key, { sub: 'alice', claims: { rooms: ['team:a'] } }));

    expect(payload).toMatchObject({ sub: 'alice', rooms: ['team:a'] });
  });

  it('does not let claims override the registered ones', async () => {
    const key = await loadOrCreateSigningKey(await mkdtemp(join(tmpdir(), 'switchboard-key-')));
    const token = signDevToken(key, { sub: 'alice', claims: { sub: 'root', iss: 'https://evil.example' } });
    const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
    expect(payload).toMatchObject({ sub: 'alice', iss: DEV_ISSUER });
  });
});

describe('parseDuration', () => {
  it.each([
    ['90', 90],
    ['90s', 90],
    ['10m', 600],
    ['2h', 7200],
    ['1d', 86400],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '10x', '-1m', '0s', 'ten minutes'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/duration|at least one second/);
  });
});
