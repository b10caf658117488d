/**
 * Child processes of the bench: each runs a TypeScript worker under tsx and talks to the driver over IPC.
 *
 * The fan-out scenario needs them: one process may hold at most 20,000 file descriptors here, and the
 * gateway and its WebSocket clients would otherwise share one event loop and one core.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Child<In, Out> {
  readonly process: ChildProcess;
  send(message: In): void;
  /** The next message that satisfies `accept`, or a rejection when the child exits or `timeoutMs` passes. */
  next<T extends Out>(accept: (message: Out) => message is T, timeoutMs?: number): Promise<T>;
  /** Stops the child and waits for it to exit. */
  stop(): Promise<void>;
}

/** The last lines a child wrote to stderr, kept to explain a failure. */
const STDERR_TAIL_BYTES = 4000;

export function startChild<In, Out>(
  worker: string,
  env: Record<string, string> = {},
  execArgv: string[] = [],
): Child<In, Out> {
  const child = fork(fileURLToPath(new URL(`../workers/${worker}`, import.meta.url)), [], {
    execArgv: ['--import', 'tsx', ...execArgv],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
  });
  const inbox: Out[] = [];
  const waiters = new Set<() => void>();
  let exited: Error | undefined;
  child.on('message', (message: Out) => {
    inbox.push(message);
    for (const wake of waiters) wake();
  });
  child.on('exit', (code, signal) => {
    exited = new Error(`${worker} exited (${signal ?? code}): ${stderr.trim().split('\n').slice(-8).join('\n')}`);
    for (const wake of waiters) wake();
  });

  return {
    process: child,
    send: (message) => {
      child.send(message as object);
    },
    next: <T extends Out>(accept: (message: Out) => message is T, timeoutMs = 120_000) =>
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${worker}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          const index = inbox.findIndex(accept);
          if (index >= 0) {
            const [message] = inbox.splice(index, 1);
            clearTimeout(timer);
            waiters.delete(check);
            resolve(message as T);
          } else if (exited) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(exited);
          }
        };
        waiters.add(check);
        check();
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'stop' });
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(kill);
    },
  };
}

/** Wall-clock milliseconds comparable across the bench's processes (sub-millisecond resolution). */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}
