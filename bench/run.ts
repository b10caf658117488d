/**
 * `npm run bench`: speed and cost of switchboard against the naive baselines, on this machine.
 *
 *   npm run bench                      every scenario, median of 3 runs, tables on stdout
 *   npm run bench -- --json            the same as JSON
 *   npm run bench -- --runs 5          median of 5 runs
 *   npm run bench -- --only fanout,connect-rate
 *   npm run bench -- --smoke           tiny sizes, one run: proves the bench works, measures nothing
 *   npm run bench -- --profile         CPU profiles (publisher and gateway during fan-outs; gateway during connects)
 *   npm run bench -- --only fanout --sizes 10000 --concurrency 16,64
 *                                      time fanOut + FastSender at these fan-out concurrencies
 *                                      (default 32,64,128,256)
 *   npm run bench -- --only connect-rate --handler-workers 0
 *                                      connect rate with the handlers in the gateway's thread; by default (1) they
 *                                      run bundled in worker threads, N per handler (the gateway's `isolation: 'worker'`)
 *   npm run bench -- --only fanout --variants 'fanOut + FastSender'   only these fan-out variants
 *
 * Progress goes to stderr. Scenarios: fanout, cold-start, connect-rate, dynamodb.
 */
import { parseArgs } from 'node:util';
import { applyBenchEnvironment, freshStateDir } from './support/environment.js';
import type { BenchResults } from './support/report.js';

const SCENARIOS = ['fanout', 'cold-start', 'connect-rate', 'dynamodb'] as const;
type Scenario = (typeof SCENARIOS)[number];

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function options() {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      runs: { type: 'string' },
      only: { type: 'string' },
      sizes: { type: 'string' },
      profile: { type: 'boolean', default: false },
      variants: { type: 'string' },
      concurrency: { type: 'string' },
      'handler-workers': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const runs = Number(values.runs ?? (values.smoke ? 1 : 3));
  if (!Number.isInteger(runs) || runs < 1)
    throw new UsageError(`--runs must be a whole number ≥ 1, got ${values.runs}`);
  const only = (values.only?.split(',') ?? [...SCENARIOS]).map((s) => s.trim());
  for (const name of only) {
    if (!SCENARIOS.includes(name as Scenario)) {
      throw new UsageError(`--only takes ${SCENARIOS.join(', ')}; got ${name}`);
    }
  }
  const sizes = values.sizes?.split(',').map(Number) ?? (values.smoke ? [20] : [1000, 10_000]);
  if (sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new UsageError(`--sizes takes whole numbers ≥ 1, got ${values.sizes}`);
  }
  const concurrencies = values.concurrency?.split(',').map(Number) ?? [];
  if (concurrencies.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new UsageError(`--concurrency takes whole numbers ≥ 1, got ${values.concurrency}`);
  }
  // Isolated handlers are the default: closer to Lambda (the deployed bundle, its own thread) and faster here.
  const handlerWorkers = Number(values['handler-workers'] ?? 1);
  if (!Number.isInteger(handlerWorkers) || handlerWorkers < 0) {
    throw new UsageError(`--handler-workers takes a whole number ≥ 0, got ${values['handler-workers']}`);
  }
  const variants = values.variants?.split(',').map((v) => v.trim());
  return { ...values, runs, only: new Set(only as Scenario[]), sizes, concurrencies, variants, handlerWorkers };
}

async function main(): Promise<void> {
  const args = options();
  if (args.help) {
    process.stdout.write('usage: npm run bench -- [--smoke] [--json] [--runs N] [--only a,b] [--sizes 1000,10000]\n');
    return;
  }
  // Before the handlers are imported: their logger reads its level once, when the module loads.
  applyBenchEnvironment();
  const { runColdStart } = await import('./scenarios/cold-start.js');
  const { runConnectRate } = await import('./scenarios/connect-rate.js');
  const { runDynamoRequests } = await import('./scenarios/dynamodb-requests.js');
  const { FANOUT_VARIANTS, runFanout } = await import('./scenarios/fanout.js');
  const fanoutVariants = (names: string[]) => {
    const known: readonly string[] = FANOUT_VARIANTS;
    for (const name of names) {
      if (!known.includes(name)) throw new UsageError(`--variants takes ${FANOUT_VARIANTS.join(', ')}; got ${name}`);
    }
    return names as (typeof FANOUT_VARIANTS)[number][];
  };
  const { checkTargets, fanoutSpeedups, machine, renderTables } = await import('./support/report.js');
  const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);
  const stateDir = freshStateDir();
  const started = Date.now();
  const results: BenchResults = {
    mode: args.smoke ? 'smoke' : 'full',
    runs: args.runs,
    machine: machine(),
    startedAt: new Date(started).toISOString(),
    durationSeconds: 0,
    targets: [],
  };

  if (args.only.has('dynamodb')) {
    progress('dynamodb requests per operation');
    results.dynamodb = await runDynamoRequests({
      roomSize: args.smoke ? 5 : 1000,
      disconnectRooms: args.smoke ? [1, 3] : [1, 30],
      userConnections: args.smoke ? 2 : 3,
      stateDir,
      progress,
    });
  }
  if (args.only.has('cold-start')) {
    progress('cold start');
    results.coldStart = await runColdStart({ samples: args.smoke ? 1 : 4 + 2 * args.runs, progress });
  }
  if (args.only.has('connect-rate')) {
    progress('connect rate');
    results.connectRate = await runConnectRate({
      connections: args.smoke ? 40 : 3000,
      processes: 2,
      concurrency: args.smoke ? 4 : 32,
      runs: args.runs,
      stateDir,
      handlerWorkers: args.handlerWorkers,
      profile: args.profile,
      progress,
    });
  }
  if (args.only.has('fanout')) {
    progress(`fan-out to rooms of ${args.sizes.join(', ')}`);
    const fanout = await runFanout({
      sizes: args.sizes,
      runs: args.runs,
      // 2,500 per process keeps each well under the 20,000 file descriptors a process may hold here.
      clientsPerProcess: args.smoke ? 10 : 2500,
      stateDir,
      profile: args.profile,
      // The handlers' default is one of these: the sweep shows what it is worth against its neighbours.
      concurrencies: args.concurrencies.length > 0 ? args.concurrencies : args.smoke ? [2, 8] : [32, 64, 128, 256],
      ...(args.variants ? { variants: fanoutVariants(args.variants) } : {}),
      progress,
    });
    results.fanout = fanout.variants;
    if (fanout.concurrency.length > 0) results.fanoutConcurrency = fanout.concurrency;
    results.fanoutSpeedup = fanoutSpeedups(results.fanout);
  }

  results.durationSeconds = (Date.now() - started) / 1000;
  results.targets = checkTargets(results);
  process.stdout.write(args.json ? `${JSON.stringify(results, null, 2)}\n` : `${renderTables(results)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
