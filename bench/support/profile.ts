/** Reads a V8 CPU profile (what `node --cpu-prof` writes) as self time per component of the send path. */
import { writeFileSync } from 'node:fs';
import type { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ComponentTime {
  component: string;
  ms: number;
  share: number;
}

/** Tried in order: the first pattern that matches a frame's URL takes its self time. */
const COMPONENTS: [string, RegExp][] = [
  ['SigV4 signing (@smithy/signature-v4)', /signature-v4/],
  ['endpoint resolution (rules engine, endpoint middleware)', /endpoint|util-endpoints|ruleset/i],
  ['request handler (@smithy/node-http-handler)', /node-http-handler/],
  ['credentials (provider chain)', /credential-provider/],
  ['DynamoDB document client (marshalling)', /lib-dynamodb|util-dynamodb/],
  ['client and command (@aws-sdk/client-*)', /@aws-sdk\/client-/],
  ['FastSender', /fast-sender/],
  ['fanOut', /fanout/],
  ['connection store', /connections\.ts/],
  ['Node http/net/stream internals', /^node:/],
];

/** `@smithy/core` and `@aws-sdk/core` are split by submodule: protocols, schema, serde, client, retry, … */
const CORE_SUBMODULE = /@(smithy|aws-sdk)\/core\/dist-[a-z]+\/submodules\/([a-zA-Z-]+)\//;

function componentOf(frame: ProfileNode['callFrame']): string {
  const named = COMPONENTS.find(([, pattern]) => pattern.test(frame.url))?.[0];
  if (named) return named;
  const core = CORE_SUBMODULE.exec(frame.url);
  if (core) return `@${core[1]}/core ${core[2]} (middleware stack, protocol, serde)`;
  if (/@aws-sdk|@smithy/.test(frame.url)) return 'other SDK packages';
  if (frame.url === '') return `V8 ${frame.functionName || '(anonymous)'}`;
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(frame.url);
  if (dependency) return `package ${dependency[1]}`;
  const source = /\/(lambdas\/[a-z-]+|local|bench)\/[^/]+$/.exec(frame.url);
  if (source) return `${source[1]}/`;
  return 'other JavaScript';
}

export function summarizeProfile(profile: CpuProfile): ComponentTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // The inspector call that starts or stops the profiler is sampled too, with the time before the first sample:
  // it is the profiler's, not the profiled code's.
  const profilerCalls = new Set(
    profile.nodes
      .filter((n) => n.callFrame.url === 'node:inspector')
      .flatMap((n) => n.children ?? [])
      .filter((id) => byId.get(id)?.callFrame.url === ''),
  );
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    const micros = profile.timeDeltas[i] ?? 0;
    if (!frame || frame.functionName === '(idle)' || profilerCalls.has(id)) return;
    const component = componentOf(frame);
    totals.set(component, (totals.get(component) ?? 0) + micros);
    all += micros;
  });
  return [...totals.entries()]
    .map(([component, micros]) => ({ component, ms: micros / 1000, share: micros / all }))
    .sort((a, b) => b.ms - a.ms);
}

/** Runs `work` under the profiler of `session` and writes the profile to `file`. */
export async function profiled<T>(session: Session, file: string, work: () => Promise<T>): Promise<[T, CpuProfile]> {
  await session.post('Profiler.start');
  const result = await work();
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  writeFileSync(file, JSON.stringify(profile));
  return [result, profile];
}
