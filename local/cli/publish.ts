/**
 * `npm run publish -- --user alice --event order.shipped --data '{"id":1}'` (or --room, --connection, --all):
 * invokes the publish function exactly as a backend service would, with `@aws-sdk/client-lambda`'s
 * InvokeCommand, only pointed at the local gateway, and prints the delivery report.
 */

import { parseArgs } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

const USAGE = `Usage: npm run publish -- (--user ID... | --room ROOM... | --connection ID... | --all)
                          --event NAME [--data JSON] [--url http://127.0.0.1:8080 | --port 8080]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string', multiple: true },
      room: { type: 'string', multiple: true },
      connection: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      event: { type: 'string' },
      data: { type: 'string' },
      url: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  const targets = [
    values.user ? { users: values.user } : undefined,
    values.room ? { rooms: values.room } : undefined,
    values.connection ? { connections: values.connection } : undefined,
    values.all ? { all: true } : undefined,
  ].filter((t) => t !== undefined);
  if (targets.length !== 1) throw new UsageError('Give exactly one target: --user, --room, --connection or --all');
  if (!values.event) throw new UsageError('--event is required');
  let data: unknown = {};
  if (values.data !== undefined) {
    try {
      data = JSON.parse(values.data);
    } catch {
      throw new UsageError('--data must be JSON (quote strings: --data \'"hello"\')');
    }
  }
  const endpoint = values.url ?? `http://127.0.0.1:${values.port ?? process.env.PORT ?? '8080'}`;

  // The gateway checks that requests are SigV4-signed, not who signed them: any credentials will do.
  const lambda = new LambdaClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const response = await lambda.send(
    new InvokeCommand({
      FunctionName: 'publish',
      Payload: JSON.stringify({ to: targets[0], event: values.event, data }),
    }),
  );
  const payload = Buffer.from(response.Payload ?? []).toString('utf8');
  if (response.FunctionError) {
    const { errorType, errorMessage } = JSON.parse(payload) as { errorType?: string; errorMessage?: string };
    process.stderr.write(`publish failed: ${errorType ?? 'Error'}: ${errorMessage ?? payload}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify(JSON.parse(payload), null, 2)}\n`);
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

main().catch((error: unknown) => {
  const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  const refused = (error as { code?: string }).code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String(error));
  const hint = refused ? ' (is `npm start` running? set --url or PORT)' : '';
  process.stderr.write(`${(error as Error).message ?? error}${hint}${usage ? `\n${USAGE}` : ''}\n`);
  process.exit(usage ? 2 : 1);
});
