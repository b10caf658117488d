/**
 * `npm run token -- --sub alice [--claims '{"rooms":["team:a"]}'] [--expires-in 10m]`: prints only a dev
 * token on stdout, signed with the local key the gateway's JWKS publishes (created on first use).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_STATE_DIR, loadOrCreateSigningKey, parseDuration, signDevToken } from '../dev-tokens.js';

const USAGE = `Usage: npm run token -- --sub alice [--claims '{"rooms":["team:a"]}'] [--expires-in 10m] [--state-dir .switchboard]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      claims: { type: 'string' },
      'expires-in': { type: 'string' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  if (!values.sub) throw new UsageError('--sub is required');
  let claims: Record<string, unknown> | undefined;
  if (values.claims !== undefined) {
    try {
      claims = JSON.parse(values.claims) as Record<string, unknown>;
    } catch {
      throw new UsageError('--claims must be a JSON object');
    }
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
      throw new UsageError('--claims must be a JSON object');
    }
  }
  let expiresInSeconds: number | undefined;
  try {
    expiresInSeconds = values['expires-in'] ? parseDuration(values['expires-in']) : undefined;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const key = await loadOrCreateSigningKey(values['state-dir'] ?? DEFAULT_STATE_DIR);
  process.stdout.write(
    `${signDevToken(key, { sub: values.sub, ...(claims ? { claims } : {}), ...(expiresInSeconds ? { expiresInSeconds } : {}) })}\n`,
  );
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

main().catch((error: unknown) => {
  const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`${(error as Error).message}${usage ? `\n${USAGE}` : ''}\n`);
  process.exit(usage ? 2 : 1);
});
