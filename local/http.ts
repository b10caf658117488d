/** Small HTTP helpers shared by the gateway's endpoints. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopbackHost } from '../lambdas/core/auth.js';

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** Reads a request body, refusing more than `maxBytes` without buffering it. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(`Body of ${declared} bytes is over ${maxBytes}`));
  }
  // Listeners rather than `for await`: the management API reads one small body per post, and an async
  // iterator costs more per request than the body itself.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        done();
        req.resume();
        reject(new BodyTooLargeError(`Body is over ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const onClose = () => {
      // Closed before the end: the same error the stream iterator gives.
      if (!req.complete) onError(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/** An AWS JSON error: the SDKs read the error type from `x-amzn-ErrorType`, the message from the body. */
export function sendAwsError(
  res: ServerResponse,
  status: number,
  errorType: string,
  message: string,
  requestId: string,
): void {
  sendJson(res, status, { message }, { 'x-amzn-errortype': errorType, 'x-amzn-requestid': requestId });
}

export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/** A percent-encoded path segment, decoded; undefined when its encoding is malformed (`%E0%A4%A`). */
export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Whether a browser could have sent this request on behalf of a page from another site. The loopback check on
 * the socket does not cover that: a page the developer opens elsewhere runs on this machine too, and with DNS
 * rebinding it can even read the answer. So the Host must name a loopback host, and an Origin, when a browser
 * sends one, must be a loopback origin.
 */
export function isCrossSiteRequest(headers: IncomingMessage['headers']): boolean {
  const hostname = (value: string | undefined): string | undefined => {
    if (!value) return undefined;
    try {
      return new URL(value.includes('://') ? value : `http://${value}`).hostname;
    } catch {
      return undefined;
    }
  };
  const host = hostname(headers.host);
  if (host === undefined || !isLoopbackHost(host)) return true;
  if (headers.origin === undefined) return false;
  const origin = hostname(headers.origin);
  return origin === undefined || !isLoopbackHost(origin);
}
