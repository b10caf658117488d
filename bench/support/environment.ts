/** The process environment every bench process shares. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Dummy credentials and region: the local gateway checks that requests are signed, not with which key, and
 * nothing may reach AWS. Handler logs are silenced so that log I/O is not what the bench measures.
 */
export const BENCH_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_EC2_METADATA_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

export function applyBenchEnvironment(): void {
  for (const [name, value] of Object.entries(BENCH_ENV)) process.env[name] = value;
  // Credentials from a profile would take precedence in the SDK's chain; the bench uses only the dummy ones.
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

/** A fresh folder for the dev signing key the gateway and the driver share. */
export function freshStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
}
