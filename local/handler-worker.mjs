/**
 * One Lambda handler in a worker thread (`isolation: 'worker'`, local/isolation.ts): imports the handler's
 * bundle, builds it with the gateway's settings and answers invocations.
 *
 * Plain JavaScript on purpose: a worker thread does not inherit a TypeScript loader (vitest runs the gateway
 * without tsx), and the bundle it imports is already JavaScript.
 */
import { parentPort, workerData } from 'node:worker_threads';

const { bundle, settings, environment } = workerData;
// The handlers build their AWS clients from the environment, as on Lambda; a worker starts with a copy of
// the gateway's environment, and these are the values the gateway chose (endpoint, dummy credentials).
for (const [name, value] of Object.entries(environment)) process.env[name] = value;

let handler;
try {
  const module = await import(bundle);
  if (typeof module.createHandler !== 'function') throw new Error(`${bundle} does not export createHandler(settings)`);
  handler = module.createHandler(settings);
  parentPort.postMessage({ type: 'ready' });
} catch (error) {
  parentPort.postMessage({ type: 'failed', error: describe(error) });
}

parentPort.on('message', (message) => {
  if (!handler) return;
  void invoke(message);
});

async function invoke({ id, event, context: fields, deadline }) {
  // Lambda's context has functions, which cannot cross threads: rebuilt here around the same deadline.
  const context = {
    ...fields,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  let answer;
  try {
    answer = { type: 'result', id, ok: true, value: await handler(event, context) };
  } catch (error) {
    answer = { type: 'result', id, ok: false, error: describe(error) };
  }
  try {
    parentPort.postMessage(answer);
  } catch (error) {
    // A result that cannot be cloned (a function, a class instance with one) fails the invocation.
    parentPort.postMessage({ type: 'result', id, ok: false, error: describe(error) });
  }
}

/** What survives of an error across the thread boundary: its name and message, as Lambda reports them. */
function describe(error) {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'Error', message: String(error) };
}
