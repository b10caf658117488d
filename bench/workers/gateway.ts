/**
 * Worker: the local gateway (real handlers, in-process dynalite) with API Gateway's rate quotas raised, so
 * the bench measures this code rather than the emulated account limits.
 */
import { startGateway } from '../../local/gateway.js';
import type { GatewayConfig, GatewayOut } from './protocol.js';

const config = JSON.parse(process.env.BENCH_GATEWAY ?? '{}') as GatewayConfig;
const unlimited = 1_000_000_000;

const gateway = await startGateway({
  port: 0,
  stateDir: config.stateDir,
  logLevel: 'error',
  devTokenEndpoint: false,
  limits: { connectionsPerSecond: unlimited, requestsPerSecond: unlimited, requestBurst: unlimited },
});

const ready: GatewayOut = {
  type: 'ready',
  url: gateway.url,
  callbackUrl: gateway.callbackUrl,
  dynamodbEndpoint: gateway.dynamodbEndpoint,
  tableName: gateway.tableName,
  tokens: Array.from({ length: config.tokens }, (_, i) => gateway.issueToken(`bench-${i}`)),
};
process.send?.(ready);

process.on('message', (message: { type: string }) => {
  if (message.type !== 'stop') return;
  void gateway.close().finally(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
