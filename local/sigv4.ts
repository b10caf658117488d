/**
 * Checks that a request carries a well-formed AWS Signature Version 4, as the management API and Lambda's
 * Invoke API require.
 *
 * It does NOT verify the signature cryptographically: that needs the caller's secret key, which only IAM
 * knows. What it does catch is the common mistake of calling without signing at all (a plain `fetch`, a
 * client without credentials, a request for the wrong service), which AWS refuses with 403.
 */

export type SignatureCheck =
  | { ok: true; accessKeyId: string; region: string; service: string }
  | { ok: false; errorType: string; message: string };

/** AWS refuses a signature whose `X-Amz-Date` is more than 5 minutes away from its clock. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

export function checkSignature(
  headers: Record<string, string | string[] | undefined>,
  expectedService: string,
  now: number = Date.now(),
): SignatureCheck {
  const authorization = single(headers.authorization);
  const amzDate = single(headers['x-amz-date']);
  if (!authorization) {
    return { ok: false, errorType: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  }
  const match = AUTHORIZATION.exec(authorization);
  if (!match || !amzDate) {
    return {
      ok: false,
      errorType: 'IncompleteSignatureException',
      message: 'Authorization header requires Credential, SignedHeaders and Signature, and X-Amz-Date must be set.',
    };
  }
  const [, accessKeyId, scopeDate, region, service, signedHeaders] = match as unknown as string[];
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined || amzDate.slice(0, 8) !== scopeDate) {
    return { ok: false, errorType: 'IncompleteSignatureException', message: 'X-Amz-Date is malformed.' };
  }
  if (Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) {
    return { ok: false, errorType: 'InvalidSignatureException', message: 'Signature expired.' };
  }
  if (service !== expectedService) {
    return {
      ok: false,
      errorType: 'InvalidSignatureException',
      message: `Credential should be scoped to correct service: '${expectedService}'.`,
    };
  }
  if (!signedHeaders?.split(';').includes('host')) {
    return { ok: false, errorType: 'InvalidSignatureException', message: "'Host' must be a signed header." };
  }
  return { ok: true, accessKeyId: accessKeyId as string, region: region as string, service };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
}
