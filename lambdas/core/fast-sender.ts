/**
 * A `Sender` for `POST @connections/{id}` that costs a fraction of the SDK client's CPU per call.
 *
 * Profiled on a 2-core machine (docs/benchmarks.md), the default `ApiGatewayManagementApiClient` spends about
 * 550 µs of CPU per `postToConnection`, of which SigV4 is only about 35 µs: the rest is the middleware stack,
 * endpoint rule evaluation per call, the request handler's per-request setup and response deserialization.
 * This sender keeps what matters and skips the rest:
 *
 * - SigV4, computed for the one request shape this sender makes: credentials from the SDK's default provider
 *   chain, cached and refreshed ahead of their expiry; the signing key derived once per day and credentials
 *   (the SDK's signer caches it too, but HMACs the credentials on every call to look it up); one SHA-256 of
 *   the canonical request and one HMAC per post. The unit tests check every signature against the SDK's own
 *   signer (`@smithy/signature-v4`), header for header;
 * - the endpoint is parsed once, not resolved per call;
 * - one keep-alive Agent, so a fan-out reuses its sockets; the headers go to Node as a flat list, which
 *   skips a per-header `setHeader` call;
 * - the payload hash is computed once per payload, not once per recipient: a fan-out posts the same bytes to
 *   every connection.
 *
 * Failures are shaped like the SDK's service exceptions (`name` from `x-amzn-ErrorType`, `$metadata`), so
 * `classifySendError` treats them exactly as it treats the default sender's: 410 is gone, 429 and 5xx are
 * retried by the fan-out, anything else fails. Like the default client (`maxAttempts: 1`), it makes one
 * attempt: the fan-out owns the retries.
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { ConfigurationError } from './config.js';
import type { Payload, Sender } from './fanout.js';

export interface FastSenderOptions {
  /** The stage's management endpoint, `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`. */
  endpoint: string;
  /** Signing region. @default - the region in an execute-api host name, else `AWS_REGION` */
  region?: string;
  /** @default - the SDK's default provider chain (environment, then the container or instance role, ...) */
  credentials?: AwsCredentialIdentityProvider;
  /** Most sockets open to the endpoint at once. @default 128 */
  maxSockets?: number;
  /** A request with no response after this long fails (and counts as failed, as a network error does). @default 10 000 */
  timeoutMs?: number;
  /** Credentials are refreshed this long before they expire. @default 5 minutes */
  refreshBeforeExpiryMs?: number;
  /** Epoch milliseconds, for the signing date and credential expiry. @default Date.now */
  now?: () => number;
}

/** A failed post, shaped like an AWS SDK service exception so the fan-out classifies it the same way. */
export class ManagementApiError extends Error {
  override readonly name: string;
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId?: string; attempts: number };

  constructor(name: string, message: string, httpStatusCode: number, requestId: string | undefined) {
    super(message);
    this.name = name;
    this.$fault = httpStatusCode >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode, attempts: 1, ...(requestId ? { requestId } : {}) };
  }
}

/** The error names the SDK would give these statuses when the response names no error type. */
const FALLBACK_ERROR_NAMES: Record<number, string> = {
  403: 'ForbiddenException',
  410: 'GoneException',
  413: 'PayloadTooLargeException',
  429: 'LimitExceededException',
};

/** Error bodies are small JSON documents; anything longer is cut, never buffered whole. */
const MAX_ERROR_BODY_BYTES = 4096;

const DEFAULT_REFRESH_BEFORE_EXPIRY_MS = 5 * 60 * 1000;

const SERVICE = 'execute-api';
const CONTENT_TYPE = 'application/octet-stream';
/** Every header the SDK's signer would sign for this request, sorted as SigV4 requires. */
const SIGNED_HEADERS = 'content-length;content-type;host;x-amz-content-sha256;x-amz-date';
const SIGNED_HEADERS_WITH_TOKEN = `${SIGNED_HEADERS};x-amz-security-token`;

/** The credentials a post signs with, and what is derived from them once rather than per post. */
interface SigningCredentials {
  readonly identity: AwsCredentialIdentity;
  /** `yyyymmdd` of `key`: a signing key is valid for one UTC day. */
  keyDate: string;
  key: Buffer;
}

export class FastSender implements Sender {
  private readonly url: URL;
  private readonly basePath: string;
  /** The canonical (SigV4-escaped) form of `basePath` + `/@connections/`, to which each id is appended. */
  private readonly canonicalBase: string;
  private readonly region: string;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly send: typeof httpRequest;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly credentialsFrom: AwsCredentialIdentityProvider;
  private readonly refreshBeforeExpiryMs: number;
  private credentials: Promise<SigningCredentials> | undefined;
  /** The settled value of `credentials`, so a post with fresh credentials does not wait for a promise. */
  private settled: SigningCredentials | undefined;
  private credentialsExpireAt = Number.POSITIVE_INFINITY;
  private lastPayload: Payload | undefined;
  private lastPayloadHash = '';
  private lastPayloadLength = '0';
  /** `X-Amz-Date` of the current second: formatting a date costs more than checking the second. */
  private dateSecond = Number.NaN;
  private longDate = '';

  constructor(options: FastSenderOptions) {
    this.url = new URL(options.endpoint);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') {
      throw new ConfigurationError(`The management endpoint must be an http(s) URL, got ${this.url.protocol}`);
    }
    this.basePath = this.url.pathname.replace(/\/+$/, '');
    this.canonicalBase = canonicalPath(`${this.basePath}/@connections/`);
    const region = options.region ?? regionOf(this.url.hostname) ?? process.env.AWS_REGION;
    if (!region) throw new ConfigurationError('No signing region: set AWS_REGION or pass region');
    this.region = region;
    this.credentialsFrom = options.credentials ?? defaultProvider();
    this.refreshBeforeExpiryMs = options.refreshBeforeExpiryMs ?? DEFAULT_REFRESH_BEFORE_EXPIRY_MS;
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 128 };
    const secure = this.url.protocol === 'https:';
    this.agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.send = secure ? httpsRequest : httpRequest;
  }

  async post(connectionId: string, payload: Payload): Promise<void> {
    const now = this.now();
    const credentials = this.freshCredentials(now) ?? (await this.currentCredentials());
    // The same path the SDK builds: `@` literal, the id URI-encoded; SigV4 escapes it once more.
    const encodedId = encodeURIComponent(connectionId);
    const path = `${this.basePath}/@connections/${encodedId}`;
    const headers = this.signedHeaders(path, encodedId, payload, credentials, now);
    try {
      await this.transmit(path, headers, payload);
    } catch (error) {
      // A keep-alive socket the server closed while idle fails the next request on it before any response;
      // Node's documentation recommends retrying exactly that case once, on a fresh socket.
      if (!(error instanceof StaleSocketError)) throw error;
      await this.transmit(path, headers, payload);
    }
  }

  /** Closes the idle sockets. Posts after this open new ones. */
  destroy(): void {
    this.agent.destroy();
  }

  /**
   * The request's headers, SigV4-signed, as the flat `[name, value, ...]` list Node takes. What the SDK's
   * signer does, for the one request this sender makes: POST, no query string, these headers, this payload.
   */
  private signedHeaders(
    path: string,
    encodedId: string,
    payload: Payload,
    credentials: SigningCredentials,
    now: number,
  ): string[] {
    const longDate = this.amzDate(now);
    const shortDate = longDate.slice(0, 8);
    if (credentials.keyDate !== shortDate) {
      credentials.key = signingKey(credentials.identity.secretAccessKey, shortDate, this.region);
      credentials.keyDate = shortDate;
    }
    const payloadHash = this.payloadHash(payload);
    const length = this.lastPayloadLength;
    const token = credentials.identity.sessionToken;
    const signedHeaderNames = token ? SIGNED_HEADERS_WITH_TOKEN : SIGNED_HEADERS;
    const canonicalRequest =
      `POST\n${this.canonicalPathOf(path, encodedId)}\n\n` +
      `content-length:${length}\ncontent-type:${CONTENT_TYPE}\nhost:${this.url.host}\n` +
      `x-amz-content-sha256:${payloadHash}\nx-amz-date:${longDate}\n` +
      `${token ? `x-amz-security-token:${canonicalValue(token)}\n` : ''}\n${signedHeaderNames}\n${payloadHash}`;
    const scope = `${shortDate}/${this.region}/${SERVICE}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', credentials.key).update(stringToSign).digest('hex');
    const headers = [
      'host',
      this.url.host,
      'content-type',
      CONTENT_TYPE,
      'content-length',
      length,
      // The signer's payload hash, sent as the SDK client sends it.
      'x-amz-content-sha256',
      payloadHash,
      'x-amz-date',
      longDate,
      'authorization',
      `AWS4-HMAC-SHA256 Credential=${credentials.identity.accessKeyId}/${scope}, SignedHeaders=${signedHeaderNames}, Signature=${signature}`,
    ];
    if (token) headers.push('x-amz-security-token', token);
    return headers;
  }

  private canonicalPathOf(path: string, encodedId: string): string {
    // An id that is empty, `.` or `..` changes how the segments before it resolve: the general form handles it.
    const plain = encodedId !== '' && encodedId !== '.' && encodedId !== '..';
    return plain ? this.canonicalBase + escapeUri(encodedId) : canonicalPath(path);
  }

  /** `yyyymmddThhmmssZ`, the signing time SigV4 asks for. */
  private amzDate(now: number): string {
    const second = Math.floor(now / 1000);
    if (second !== this.dateSecond) {
      this.dateSecond = second;
      this.longDate = new Date(second * 1000)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '');
    }
    return this.longDate;
  }

  private payloadHash(payload: Payload): string {
    if (payload !== this.lastPayload) {
      this.lastPayload = payload;
      this.lastPayloadHash = createHash('sha256').update(payload).digest('hex');
      this.lastPayloadLength = String(typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength);
    }
    return this.lastPayloadHash;
  }

  /** The cached credentials when they are settled and not due for a refresh at `now`. */
  private freshCredentials(now: number): SigningCredentials | undefined {
    return now < this.credentialsExpireAt - this.refreshBeforeExpiryMs ? this.settled : undefined;
  }

  private currentCredentials(): Promise<SigningCredentials> {
    if (this.credentials && this.now() < this.credentialsExpireAt - this.refreshBeforeExpiryMs) {
      return this.credentials;
    }
    const loading = this.credentialsFrom().then(
      (identity): SigningCredentials => {
        const loaded = { identity, keyDate: '', key: Buffer.alloc(0) };
        if (this.credentials === loading) {
          this.credentialsExpireAt = identity.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
          this.settled = loaded;
        }
        return loaded;
      },
      (error: unknown) => {
        // Not cached: the next post asks the provider again.
        if (this.credentials === loading) this.credentials = undefined;
        throw error;
      },
    );
    // Posts arriving while a refresh runs share it instead of starting their own.
    this.credentials = loading;
    this.settled = undefined;
    this.credentialsExpireAt = Number.POSITIVE_INFINITY;
    return loading;
  }

  private transmit(path: string, headers: string[], payload: Payload): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = this.send(
        {
          agent: this.agent,
          method: 'POST',
          hostname: this.url.hostname,
          port: this.url.port,
          path,
          headers,
          timeout: this.timeoutMs,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            res.resume();
            res.on('end', resolve);
            res.on('error', reject);
            return;
          }
          readErrorBody(res).then((body) => reject(toServiceError(status, res, body)), reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`No response within ${this.timeoutMs} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
          reject(new StaleSocketError(error.message, { cause: error }));
        } else {
          reject(error);
        }
      });
      req.end(payload);
    });
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
function signingKey(secretAccessKey: string, shortDate: string, region: string): Buffer {
  let key = createHmac('sha256', `AWS4${secretAccessKey}`).update(shortDate).digest();
  for (const part of [region, SERVICE, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return key;
}

/** RFC 3986 escaping as SigV4 (and the SDK's `escapeUri`) does it: `encodeURIComponent` plus `!'()*`. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A path as SigV4 canonicalizes it for every service but S3: empty, `.` and `..` segments resolved, then each
 * segment escaped once more (so `%3D` in the path becomes `%253D` here).
 */
export function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `${path.startsWith('/') ? '/' : ''}${segments.map(escapeUri).join('/')}${trailing}`;
}

/** A header value as SigV4 canonicalizes it: trimmed, inner whitespace runs squashed to one space. */
function canonicalValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

class StaleSocketError extends Error {
  override readonly name = 'StaleSocketError';
}

/** The region of an execute-api host name, `{api-id}.execute-api.{region}.amazonaws.com`. */
export function regionOf(hostname: string): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(hostname)?.[1];
}

async function readErrorBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < MAX_ERROR_BODY_BYTES) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
}

function toServiceError(status: number, res: IncomingMessage, body: string): ManagementApiError {
  const header = res.headers['x-amzn-errortype'];
  // The header may carry a suffix after a colon (`GoneException:http://internal.amazon.com/...`).
  const typeFromHeader = (Array.isArray(header) ? header[0] : header)?.split(':')[0];
  let message = `Management API answered ${status}`;
  let typeFromBody: string | undefined;
  try {
    const parsed = JSON.parse(body) as { message?: unknown; Message?: unknown; __type?: unknown };
    const text = parsed.message ?? parsed.Message;
    if (typeof text === 'string') message = text;
    if (typeof parsed.__type === 'string') typeFromBody = parsed.__type.split('#').pop();
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone decides.
  }
  const name =
    typeFromHeader ||
    typeFromBody ||
    FALLBACK_ERROR_NAMES[status] ||
    (status >= 500 ? 'InternalServerError' : 'HttpError');
  const requestId = res.headers['x-amzn-requestid'];
  return new ManagementApiError(name, message, status, typeof requestId === 'string' ? requestId : undefined);
}
