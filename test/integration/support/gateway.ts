/**
 * Starts a gateway for a test file: a free port, its own table and an in-memory signing key, against the
 * DynamoDB API server the vitest project chose (dynalite in this process, or DynamoDB Local).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { generateSigningKey } from '../../../local/dev-tokens.js';
import { type Gateway, type GatewayOptions, startGateway } from '../../../local/gateway.js';
import { createLogger } from '../../../local/log.js';

export type Backend = 'dynalite' | 'dynamodb-local';

export function backend(): Backend {
  const chosen = process.env.SWITCHBOARD_TEST_DYNAMODB ?? 'dynalite';
  if (chosen !== 'dynalite' && chosen !== 'dynamodb-local') {
    throw new Error(`SWITCHBOARD_TEST_DYNAMODB must be dynalite or dynamodb-local, got ${chosen}`);
  }
  return chosen;
}

export async function startTestGateway(options: GatewayOptions = {}): Promise<Gateway> {
  if (backend() === 'dynamodb-local') {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = inject('dynamodbEndpoint');
  }
  return startGateway({
    port: 0,
    tableName: `switchboard-test-${randomUUID().slice(0, 8)}`,
    stateDir: await mkdtemp(join(tmpdir(), 'switchboard-state-')),
    signingKey: generateSigningKey(),
    logger: createLogger(process.env.SWITCHBOARD_TEST_LOG === '1' ? 'debug' : 'silent'),
    ...options,
  });
}

export function documentClient(gateway: Gateway): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: gateway.dynamodbEndpoint }));
}

export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
