/**
 * Development tokens: an RS256 key pair kept in `.switchboard/` (gitignored), its JWKS, and a signer.
 *
 * The local gateway serves the JWKS and the authorizer verifies tokens against it with the same aws-jwt-verify
 * code path as in production; only the issuer differs. Nothing here is used by the deployed stack.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEV_ISSUER = 'https://switchboard.local/dev';
export const DEV_AUDIENCE = 'switchboard-local';
export const DEFAULT_STATE_DIR = '.switchboard';
export const KEY_FILE = 'dev-signing-key.pem';
export const DEFAULT_EXPIRES_IN_SECONDS = 60 * 60;

export interface PublicJwk {
  kty: 'RSA';
  n: string;
  e: string;
  kid: string;
  alg: 'RS256';
  use: 'sig';
}

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly jwk: PublicJwk;
}

export class DevTokenError extends Error {
  override readonly name = 'DevTokenError';
}

/** A fresh RS256 key that lives only in memory (tests use one as "another key"). */
export function generateSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return signingKeyFrom(privateKey);
}

function signingKeyFrom(privateKey: KeyObject): SigningKey {
  const { n, e } = createPublicKey(privateKey).export({ format: 'jwk' });
  if (typeof n !== 'string' || typeof e !== 'string') throw new DevTokenError('The dev signing key is not an RSA key');
  // RFC 7638 thumbprint: the same key always gets the same kid, across restarts.
  const kid = createHash('sha256')
    .update(JSON.stringify({ e, kty: 'RSA', n }))
    .digest('base64url');
  return { privateKey, jwk: { kty: 'RSA', n, e, kid, alg: 'RS256', use: 'sig' } };
}

/**
 * Loads the dev signing key from `stateDir`, creating it on first use. The file is written with mode 0600 and
 * exclusively (`wx`), so two processes starting at once end up with the same key.
 */
export async function loadOrCreateSigningKey(stateDir: string = DEFAULT_STATE_DIR): Promise<SigningKey> {
  const path = join(stateDir, KEY_FILE);
  try {
    return signingKeyFrom(createPrivateKey(await readFile(path, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const fresh = generateSigningKey();
  const pem = fresh.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  try {
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return signingKeyFrom(createPrivateKey(await readFile(path, 'utf8')));
  }
}

export function jwksOf(...keys: SigningKey[]): { keys: PublicJwk[] } {
  return { keys: keys.map((k) => k.jwk) };
}

/** Signs any payload as a compact RS256 JWS. */
export function signJwt(key: SigningKey, payload: Record<string, unknown>): string {
  const header = { alg: 'RS256', typ: 'JWT', kid: key.jwk.kid };
  const input = `${base64url(header)}.${base64url(payload)}`;
  const signature = sign('sha256', Buffer.from(input), key.privateKey).toString('base64url');
  return `${input}.${signature}`;
}

export interface DevTokenOptions {
  sub: string;
  /** Extra claims, such as `{ rooms: ['team:a'] }`. They cannot override iss, aud, sub, iat or exp. */
  claims?: Record<string, unknown>;
  /** @default - one hour */
  expiresInSeconds?: number;
  /** @default - DEV_ISSUER */
  issuer?: string;
  /** @default - DEV_AUDIENCE */
  audience?: string;
  /** Seconds since the epoch used as `iat`. @default - now */
  now?: number;
}

export function signDevToken(key: SigningKey, options: DevTokenOptions): string {
  if (!options.sub) throw new DevTokenError('A dev token needs a non-empty sub');
  const iat = options.now ?? Math.floor(Date.now() / 1000);
  return signJwt(key, {
    ...options.claims,
    iss: options.issuer ?? DEV_ISSUER,
    aud: options.audience ?? DEV_AUDIENCE,
    sub: options.sub,
    iat,
    exp: iat + (options.expiresInSeconds ?? DEFAULT_EXPIRES_IN_SECONDS),
    jti: crypto.randomUUID(),
  });
}

/** Parses `90`, `90s`, `10m`, `2h` or `1d` into seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) throw new DevTokenError(`Expected a duration like 90s, 10m, 2h or 1d, got ${JSON.stringify(text)}`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds <= 0) throw new DevTokenError(`A token must live at least one second, got ${JSON.stringify(text)}`);
  return seconds;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
