/**
 * `npm start`: the whole system on one machine. Prints one ready line with the ws:// URL, then logs JSON
 * lines on stderr; shuts down cleanly on SIGINT or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startGateway } from '../gateway.js';
import type { LogLevel } from '../log.js';

const USAGE = `Usage: npm start -- [--port 8080] [--host 127.0.0.1] [--stage local] [--data-dir DIR]
                    [--state-dir .switchboard] [--lose-disconnects] [--isolate] [--log-level info]

  --port             port to listen on (or PORT; default 8080)
  --host             interface to listen on (default 127.0.0.1, this machine only)
  --stage            stage name, the path of the WebSocket URL (default local)
  --data-dir         persist DynamoDB (dynalite) data in this folder (default: in memory)
  --state-dir        folder of the dev signing key (default .switchboard)
  --lose-disconnects never run $disconnect, as when API Gateway loses it (for testing cleanup)
  --isolate          run each handler bundled as deployed, in its own worker thread
  --log-level        debug | info | warn | error | silent (default info)

AWS_ENDPOINT_URL_DYNAMODB set: that DynamoDB server is used instead of dynalite.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      stage: { type: 'string' },
      'data-dir': { type: 'string' },
      'state-dir': { type: 'string' },
      'lose-disconnects': { type: 'boolean' },
      isolate: { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const portText = values.port ?? process.env.PORT ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0-65535, got ${portText}`);
  const logLevel = (values['log-level'] ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    throw new UsageError(`--log-level must be debug, info, warn, error or silent, got ${logLevel}`);
  }
  // Handlers log through Powertools; keep their level in step with the gateway's unless set explicitly.
  process.env.POWERTOOLS_LOG_LEVEL ??= logLevel === 'silent' ? 'SILENT' : logLevel.toUpperCase();

  const gateway = await startGateway({
    port,
    ...(values.host ? { host: values.host } : {}),
    ...(values.stage ? { stage: values.stage } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values['state-dir'] ? { stateDir: values['state-dir'] } : {}),
    loseDisconnects: values['lose-disconnects'] ?? false,
    ...(values.isolate ? { isolation: 'worker' as const } : {}),
    logLevel,
  });

  const portHint = gateway.port === 8080 ? '' : `PORT=${gateway.port} `;
  process.stdout.write(
    `switchboard local gateway ready: ${gateway.url} (demo page ${gateway.httpUrl}/)\n` +
      `  token:   npm run token -- --sub alice\n` +
      `  publish: ${portHint}npm run publish -- --user alice --event order.shipped --data '{"id":1}'\n`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`${JSON.stringify({ level: 'info', message: 'shutting down', signal })}\n`);
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

main().catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if ((error as { code?: string }).code === 'EADDRINUSE') {
    process.stderr.write(`Port in use: ${(error as Error).message}. Try PORT=8081 npm start\n`);
    process.exit(1);
  }
  process.stderr.write(`switchboard local gateway failed to start: ${(error as Error).message ?? error}\n`);
  process.exit(1);
});
