/**
 * Where a sender's CPU goes: fans one payload out to N connection ids against a sink server in another
 * process, under the V8 CPU profiler (what `node --cpu-prof` writes), and sums the self time by component.
 *
 *   npx tsx bench/profile-sender.ts [--sender sdk|fast|both] [--messages 20000] [--json]
 *
 * The profile of each sender is written to bench/results/<sender>.cpuprofile, to open in Chrome DevTools.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyBenchEnvironment } from './support/environment.js';
import { type CpuProfile, summarizeProfile } from './support/profile.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sender: { type: 'string', default: 'both' },
      messages: { type: 'string', default: '20000' },
      json: { type: 'boolean', default: false },
    },
  });
  applyBenchEnvironment();
  const { ApiGatewayManagementApiClient } = await import('@aws-sdk/client-apigatewaymanagementapi');
  const { fanOut } = await import('../lambdas/core/fanout.js');
  const { ManagementApiSender } = await import('../lambdas/core/management-api-sender.js');
  const { FastSender } = await import('../lambdas/core/fast-sender.js');
  const { startChild } = await import('./support/children.js');

  const messages = Number(values.messages);
  const sink = startChild<never, { type: 'ready'; port: number }>('sink.ts');
  const { port } = await sink.next((m): m is { type: 'ready'; port: number } => m.type === 'ready');
  const endpoint = `http://127.0.0.1:${port}/local`;
  const ids = Array.from({ length: messages }, (_, i) => `conn${i.toString(36).padStart(8, '0')}=`);
  const payload = JSON.stringify({ type: 'notification', event: 'bench', data: { text: 'x'.repeat(200) }, ts: 1 });
  const store = { removeConnection: async () => ({ rooms: 0 }) };
  const senders = {
    sdk: () => new ManagementApiSender(new ApiGatewayManagementApiClient({ endpoint, maxAttempts: 1 })),
    fast: () => new FastSender({ endpoint }),
  };
  const chosen = values.sender === 'both' ? (['sdk', 'fast'] as const) : [values.sender as 'sdk' | 'fast'];
  const outDir = join(fileURLToPath(new URL('.', import.meta.url)), 'results');
  mkdirSync(outDir, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  const report: Record<string, unknown> = {};
  try {
    for (const name of chosen) {
      const sender = senders[name]();
      // Warm: JIT, credentials, sockets, as in a warm Lambda container.
      await fanOut([ids.slice(0, 2000)], payload, { sender, store, concurrency: 64 });
      await session.post('Profiler.start');
      const before = process.cpuUsage();
      const delivery = await fanOut([ids], payload, { sender, store, concurrency: 64 });
      const used = process.cpuUsage(before);
      const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
      writeFileSync(join(outDir, `${name}.cpuprofile`), JSON.stringify(profile));
      const perMessage = (used.user + used.system) / delivery.delivered;
      const breakdown = summarizeProfile(profile);
      report[name] = { cpuPerMessageUs: perMessage, delivered: delivery.delivered, breakdown };
      if (!values.json) {
        process.stdout.write(`\n${name}: ${perMessage.toFixed(0)} µs CPU per post (${delivery.delivered} posts)\n`);
        for (const row of breakdown.filter((r) => r.share >= 0.01)) {
          process.stdout.write(
            `  ${(row.share * 100).toFixed(1).padStart(5)} %  ${((row.ms * 1000) / messages).toFixed(1).padStart(6)} µs/post  ${row.component}\n`,
          );
        }
      }
      (sender as { destroy?: () => void }).destroy?.();
    }
  } finally {
    session.disconnect();
    await sink.stop();
  }
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
