/**
 * Test-only JWT helpers: RSA keys generated in the test, tokens signed with them, and a JWKS served on
 * 127.0.0.1 so aws-jwt-verify's real fetch path runs. The local gateway has its own signer in `local/`.
 */
import { createSign, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  /** The public half as a JWK, as a JWKS lists it. */
  jwk: Record<string, string>;
}

export function generateSigningKey(kid: string = randomUUID()): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  return { kid, privateKey, jwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** Signs `payload` with RS256. `header` overrides fields of the JOSE header. */
export function signJwt(
  payload: Record<string, unknown>,
  key: SigningKey,
  header: Record<string, unknown> = {},
): string {
  const encodedHeader = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header }));
  const signingInput = `${encodedHeader}.${base64url(JSON.stringify(payload))}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(key.privateKey);
  return `${signingInput}.${base64url(signature)}`;
}

/** An unsecured JWT (`alg: none`, empty signature), which a verifier must refuse. */
export function unsignedJwt(payload: Record<string, unknown>, kid?: string): string {
  const header = base64url(JSON.stringify({ alg: 'none', typ: 'JWT', ...(kid ? { kid } : {}) }));
  return `${header}.${base64url(JSON.stringify(payload))}.`;
}

export interface JwksServer {
  /** `http://127.0.0.1:<port>/.well-known/jwks.json` */
  jwksUri: string;
  /** Number of JWKS requests served. */
  requests(): number;
  close(): Promise<void>;
}

/** Serves `{ keys: [...] }` for the given keys on 127.0.0.1 at an ephemeral port. */
export async function startJwksServer(keys: readonly SigningKey[]): Promise<JwksServer> {
  let requests = 0;
  const body = JSON.stringify({ keys: keys.map((key) => key.jwk) });
  const server: Server = createServer((request, response) => {
    requests++;
    if (request.url !== '/.well-known/jwks.json') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUri: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Claims of a token that a verifier configured with `issuer` and `audience` accepts, valid for an hour. */
export function validClaims(
  issuer: string,
  audience: string,
  extra: Record<string, unknown> = {},
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Record<string, unknown> {
  return { iss: issuer, aud: audience, sub: 'user-1', iat: nowSeconds, exp: nowSeconds + 3600, ...extra };
}
