/**
 * Worker: the local gateway (real handlers, in-process dynalite) with API Gateway's rate quotas raised, so
 * the bench measures this code rather than the emulated account limits.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startGateway } from '../../local/gateway.js';
import { type CpuProfile, summarizeProfile } from '../support/profile.js';
import type { GatewayConfig, GatewayIn, GatewayOut } from './protocol.js';

const config = JSON.parse(process.env.BENCH_GATEWAY ?? '{}') as GatewayConfig;
const unlimited = 1_000_000_000;

const gateway = await startGateway({
  port: 0,
  stateDir: config.stateDir,
  logLevel: 'error',
  devTokenEndpoint: false,
  ...(config.handlerWorkers ? { isolation: 'worker', workersPerHandler: config.handlerWorkers } : {}),
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
let session: Session | undefined;
async function startProfiler(): Promise<void> {
  session ??= new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
if (process.env.BENCH_GATEWAY_PROFILE === '1') await startProfiler();
process.send?.(ready);

process.on('message', (message: GatewayIn) => {
  if (message.type === 'profile-start') {
    void startProfiler().then(() => process.send?.({ type: 'profiling' } satisfies GatewayOut));
  } else if (message.type === 'profile' && session) {
    const current = session;
    void current.post('Profiler.stop').then(({ profile }) => {
      current.disconnect();
      writeFileSync(message.file, JSON.stringify(profile));
      const answer: GatewayOut = { type: 'profiled', breakdown: summarizeProfile(profile as CpuProfile) };
      process.send?.(answer);
    });
  } else if (message.type === 'stop') {
    void gateway.close().finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
