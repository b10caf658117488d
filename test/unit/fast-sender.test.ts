import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, SourceData } from '@smithy/types';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { classifySendError, fanOut } from '../../lambdas/core/fanout.js';
import { canonicalPath, FastSender, ManagementApiError, regionOf } from '../../lambdas/core/fast-sender.js';
import { MemoryConnectionStore } from '../support/memory-store.js';

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  bodyBytes: Uint8Array;
}

type Responder = (req: Received, res: ServerResponse) => void;

const CREDENTIALS: AwsCredentialIdentity = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG' };

let server: Server;
let endpoint: string;
let received: Received[];
let respond: Responder;
const senders: FastSender[] = [];

beforeEach(async () => {
  received = [];
  respond = (_req, res) => res.writeHead(200, { 'content-length': 0 }).end();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        bodyBytes: new Uint8Array(Buffer.concat(chunks)),
      };
      received.push(entry);
      respond(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
});

afterEach(async () => {
  for (const sender of senders.splice(0)) sender.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function sender(options: Partial<ConstructorParameters<typeof FastSender>[0]> = {}): FastSender {
  const created = new FastSender({ endpoint, region: 'eu-west-1', credentials: async () => CREDENTIALS, ...options });
  senders.push(created);
  return created;
}

/** SHA-256 and HMAC-SHA-256 on node:crypto, in the shape the SDK's signer takes. */
class NodeSha256 implements Checksum {
  private readonly secret: SourceData | undefined;
  private hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.secret = secret;
    this.hash = this.fresh();
  }

  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key = typeof this.secret === 'string' ? this.secret : new Uint8Array(this.secret as ArrayBuffer);
    return createHmac('sha256', key);
  }
}

function signedHeaderNames(request: Received): string[] {
  return /SignedHeaders=([^,]+)/.exec(String(request.headers.authorization))?.[1]?.split(';') ?? [];
}

/** The Authorization header the SDK's own signer gives the request the server received, at its X-Amz-Date. */
async function sdkAuthorization(request: Received, credentials: AwsCredentialIdentity): Promise<string> {
  const amzDate = String(request.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const headers = Object.fromEntries(
    signedHeaderNames(request)
      .filter((name) => name !== 'x-amz-date' && name !== 'x-amz-security-token')
      .map((name) => [name, String(request.headers[name])]),
  );
  const signed = await new SignatureV4({
    service: 'execute-api',
    region: 'eu-west-1',
    credentials,
    sha256: NodeSha256,
  }).sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: request.path,
      query: {},
      headers,
      body: request.bodyBytes,
    },
    { signingDate },
  );
  return String(signed.headers.authorization);
}

function awsError(status: number, type: string | undefined, message = 'nope'): Responder {
  return (_req, res) => {
    const body = JSON.stringify({ message });
    res
      .writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-amzn-requestid': 'req-1',
        ...(type ? { 'x-amzn-errortype': type } : {}),
      })
      .end(body);
  };
}

async function rejection(promise: Promise<unknown>): Promise<ManagementApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ManagementApiError);
  return error as ManagementApiError;
}

describe('FastSender', () => {
  it('posts the payload to the stage path of the connection', async () => {
    // Act
    await sender().post('L0SM9cOFvHcCIhw=', '{"hello":"world"}');

    // Assess
    expect(received).toHaveLength(1);
    expect(received[0]?.method).toBe('POST');
    expect(received[0]?.path).toBe('/prod/@connections/L0SM9cOFvHcCIhw%3D');
    expect(received[0]?.body).toBe('{"hello":"world"}');
  });

  it('signs with SigV4 for execute-api, exactly as the SDK signer signs the same request', async () => {
    // Act
    await sender().post('abc', 'payload bytes');

    // Assess
    const request = received[0] as Received;
    const authorization = String(request.headers.authorization);
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    expect(signedHeaderNames(request)).toEqual(
      expect.arrayContaining(['host', 'x-amz-date', 'x-amz-content-sha256', 'content-length']),
    );
    expect(await sdkAuthorization(request, CREDENTIALS)).toBe(authorization);
  });

  it.each([
    ['an id with base64 padding and symbols', 'L0SM9cOFvHcCIhw=', 'x'],
    ["an id with characters encodeURIComponent leaves alone (!'()*)", "a!b'c(d)e*f", 'x'],
    ['an id with a slash, plus and space', 'a/b+c d', 'x'],
    ['an id that is a dot segment', '..', 'x'],
    ['a binary payload', 'abc', new Uint8Array([0, 255, 10, 13])],
    ['an empty payload', 'abc', ''],
    ['a non-ASCII payload', 'abc', '{"text":"héllo ✓"}'],
  ])('signs %s as the SDK signer does', async (_case, connectionId, payload) => {
    // Act
    await sender().post(connectionId, payload);

    // Assess
    const request = received[0] as Received;
    expect(await sdkAuthorization(request, CREDENTIALS)).toBe(String(request.headers.authorization));
  });

  it('signs with the session token of temporary credentials as the SDK signer does', async () => {
    // Arrange
    const temporary = { ...CREDENTIALS, sessionToken: 'FwoGZXIvYXdzEJr//////////wEaDK+token=' };

    // Act
    await sender({ credentials: async () => temporary }).post('a', 'x');

    // Assess
    const request = received[0] as Received;
    expect(signedHeaderNames(request)).toContain('x-amz-security-token');
    expect(await sdkAuthorization(request, temporary)).toBe(String(request.headers.authorization));
  });

  it("signs with the next day's key after midnight UTC", async () => {
    // Arrange
    let now = Date.parse('2030-01-01T23:59:59Z');
    const subject = sender({ now: () => now });

    // Act
    await subject.post('a', 'x');
    now += 2000;
    await subject.post('b', 'x');

    // Assess
    const [before, after] = received as [Received, Received];
    expect(before.headers['x-amz-date']).toBe('20300101T235959Z');
    expect(after.headers['x-amz-date']).toBe('20300102T000001Z');
    expect(await sdkAuthorization(before, CREDENTIALS)).toBe(String(before.headers.authorization));
    expect(await sdkAuthorization(after, CREDENTIALS)).toBe(String(after.headers.authorization));
  });

  it('sends the SHA-256 of the body it actually sent', async () => {
    // Act
    await sender().post('a', 'first');
    await sender().post('b', new TextEncoder().encode('second'));

    // Assess
    for (const request of received) {
      expect(request.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(request.body).digest('hex'));
    }
  });

  it('sends the session token of temporary credentials', async () => {
    // Arrange
    const credentials = async () => ({ ...CREDENTIALS, sessionToken: 'session-token-1' });

    // Act
    await sender({ credentials }).post('a', 'x');

    // Assess
    expect(received[0]?.headers['x-amz-security-token']).toBe('session-token-1');
  });

  it('asks the credential provider once for many posts', async () => {
    // Arrange
    const provider = vi.fn(async () => CREDENTIALS);
    const subject = sender({ credentials: provider });

    // Act
    await Promise.all(['a', 'b', 'c', 'd'].map((id) => subject.post(id, 'x')));

    // Assess
    expect(provider).toHaveBeenCalledTimes(1);
    expect(received).toHaveLength(4);
  });

  it('refreshes credentials before they expire', async () => {
    // Arrange
    let now = Date.parse('2030-01-01T00:00:00Z');
    const provider = vi.fn(async () => ({
      ...CREDENTIALS,
      accessKeyId: `AKID${provider.mock.calls.length}`,
      expiration: new Date(now + 10 * 60 * 1000),
    }));
    const subject = sender({ credentials: provider, now: () => now, refreshBeforeExpiryMs: 5 * 60 * 1000 });

    // Act
    await subject.post('a', 'x');
    now += 4 * 60 * 1000;
    await subject.post('b', 'x');
    now += 2 * 60 * 1000;
    await subject.post('c', 'x');

    // Assess
    expect(provider).toHaveBeenCalledTimes(2);
    expect(received.map((r) => /Credential=(\w+)\//.exec(String(r.headers.authorization))?.[1])).toEqual([
      'AKID1',
      'AKID1',
      'AKID2',
    ]);
  });

  it('asks the provider again after it failed, instead of caching the failure', async () => {
    // Arrange
    const provider = vi
      .fn<() => Promise<AwsCredentialIdentity>>()
      .mockRejectedValueOnce(new Error('no credentials yet'))
      .mockResolvedValue(CREDENTIALS);
    const subject = sender({ credentials: provider });

    // Act
    await expect(subject.post('a', 'x')).rejects.toThrow('no credentials yet');
    await subject.post('a', 'x');

    // Assess
    expect(provider).toHaveBeenCalledTimes(2);
    expect(received).toHaveLength(1);
  });

  it('maps 410 to a GoneException the fan-out prunes', async () => {
    // Arrange
    respond = awsError(410, 'GoneException');

    // Act
    const error = await rejection(sender().post('a', 'x'));

    // Assess
    expect(error.name).toBe('GoneException');
    expect(error.$metadata).toMatchObject({ httpStatusCode: 410, requestId: 'req-1' });
    expect(classifySendError(error)).toBe('gone');
  });

  it('names a 410 GoneException even when the response names no error type', async () => {
    // Arrange
    respond = awsError(410, undefined);

    // Act
    const error = await rejection(sender().post('a', 'x'));

    // Assess
    expect(error.name).toBe('GoneException');
  });

  it.each([
    [429, 'LimitExceededException'],
    [429, undefined],
    [500, 'InternalServerErrorException'],
    [502, undefined],
    [503, 'ServiceUnavailableException'],
  ])('maps a %i (%s) to an error the fan-out retries', async (status, type) => {
    // Arrange
    respond = awsError(status, type);

    // Act
    const error = await rejection(sender().post('a', 'x'));

    // Assess
    expect(error.$metadata.httpStatusCode).toBe(status);
    expect(error.$fault).toBe(status >= 500 ? 'server' : 'client');
    expect(classifySendError(error)).toBe('retry');
  });

  it('maps a 403 to an error the fan-out gives up on, with the message of the response', async () => {
    // Arrange
    respond = awsError(403, 'ForbiddenException:http://internal.amazon.com/coral', 'Forbidden');

    // Act
    const error = await rejection(sender().post('a', 'x'));

    // Assess
    expect(error.name).toBe('ForbiddenException');
    expect(error.message).toBe('Forbidden');
    expect(classifySendError(error)).toBe('fail');
  });

  it('lets fanOut prune gone connections and retry throttled ones like the SDK sender', async () => {
    // Arrange
    const throttledOnce = new Set<string>();
    respond = (req, res) => {
      if (req.path.endsWith('/gone')) return awsError(410, 'GoneException')(req, res);
      if (req.path.endsWith('/busy') && !throttledOnce.has('busy')) {
        throttledOnce.add('busy');
        return awsError(429, 'LimitExceededException')(req, res);
      }
      res.writeHead(200, { 'content-length': 0 }).end();
    };
    const store = new MemoryConnectionStore();
    const remove = vi.spyOn(store, 'removeConnection');

    // Act
    const report = await fanOut([['ok', 'gone', 'busy']], 'x', {
      sender: sender(),
      store,
      concurrency: 2,
      retry: { sleep: () => Promise.resolve(), random: () => 0 },
    });

    // Assess
    expect(report).toEqual({ recipients: 3, delivered: 2, gone: 1, failed: 0 });
    expect(remove).toHaveBeenCalledWith('gone');
  });

  it('fails a post whose response does not come in time', async () => {
    // Arrange
    respond = () => undefined;

    // Act
    const error = await sender({ timeoutMs: 50 })
      .post('a', 'x')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(classifySendError(error)).toBe('fail');
  });
});

describe('canonicalPath', () => {
  it.each([
    ['/prod/@connections/abc%3D', '/prod/%40connections/abc%253D'],
    ['/prod//a/./b/../c/', '/prod/a/c/'],
    ['/', '/'],
  ])('canonicalizes %s as SigV4 does for services other than S3', (path, canonical) => {
    expect(canonicalPath(path)).toBe(canonical);
  });
});

describe('regionOf', () => {
  it('reads the region of an execute-api host name', () => {
    expect(regionOf('abc123.execute-api.eu-central-1.amazonaws.com')).toBe('eu-central-1');
  });

  it('finds none in a custom domain', () => {
    expect(regionOf('ws.example.com')).toBeUndefined();
  });
});
