/**
 * Worker: many WebSocket clients of one process. They connect with real dev tokens (offered as the
 * `bearer.` subprotocol entry, as the SDK does), optionally join a room, and report when messages arrive.
 */
import { WebSocket } from 'ws';
import { clock } from '../support/children.js';
import type { ClientsConfig, ClientsIn, ClientsOut } from './protocol.js';

const config = JSON.parse(process.env.BENCH_CLIENTS ?? '{}') as ClientsConfig;
const send = (message: ClientsOut) => process.send?.(message);

const sockets: WebSocket[] = [];
/** Per tag: how many connections received it, and when the last one did. */
const arrivals = new Map<string, { count: number; lastAt: number }>();
const expected = new Set<string>();

function tagOf(text: string): string | undefined {
  // Cheaper than JSON.parse on every message: the bench's notifications carry `"tag":"<id>"` in their data.
  const at = text.indexOf('"tag":"');
  if (at < 0) return undefined;
  const start = at + 7;
  return text.slice(start, text.indexOf('"', start));
}

function record(text: string): void {
  const tag = tagOf(text);
  if (tag === undefined) return;
  const entry = arrivals.get(tag) ?? { count: 0, lastAt: 0 };
  entry.count++;
  entry.lastAt = clock();
  arrivals.set(tag, entry);
  report(tag);
}

function report(tag: string): void {
  const entry = arrivals.get(tag);
  if (!expected.has(tag) || !entry || entry.count < sockets.length) return;
  expected.delete(tag);
  send({ type: 'received', tag, count: entry.count, lastAt: entry.lastAt });
}

function open(index: number): Promise<WebSocket> {
  const token = config.tokens[index % config.tokens.length] as string;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(config.url, ['switchboard.v1', `bearer.${token}`], { perMessageDeflate: false });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => undefined);
      resolve(ws);
    });
  });
}

function join(ws: WebSocket, room: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as { type?: string; id?: unknown; code?: string };
      if (frame.id !== 'join') return;
      ws.off('message', onMessage);
      if (frame.type === 'ack') resolve();
      else reject(new Error(`join refused: ${frame.code}`));
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ action: 'join', room, id: 'join' }));
  });
}

async function connectAll(): Promise<void> {
  const failures: string[] = [];
  let next = 0;
  let failed = 0;
  const firstStartAt = clock();
  let lastOpenAt = firstStartAt;
  const worker = async () => {
    while (next < config.connections) {
      const index = next++;
      try {
        const ws = await open(index);
        lastOpenAt = clock();
        if (config.room) await join(ws, config.room);
        ws.on('message', (data: Buffer) => record(data.toString('utf8')));
        sockets.push(ws);
      } catch (error) {
        failed++;
        if (failures.length < 5) failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, config.concurrency) }, worker));
  send({ type: 'ready', opened: sockets.length, failed, firstStartAt, lastOpenAt, failures });
}

async function closeAll(): Promise<void> {
  await Promise.all(
    sockets.splice(0).map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(1000);
          setTimeout(() => ws.terminate(), 5000).unref();
        }),
    ),
  );
}

process.on('message', (message: ClientsIn) => {
  if (message.type === 'expect') {
    expected.add(message.tag);
    report(message.tag);
  } else if (message.type === 'close') {
    void closeAll().then(() => send({ type: 'closed' }));
  } else if (message.type === 'go') {
    go();
  } else if (message.type === 'stop') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));

let go: () => void = () => undefined;
if (config.waitForGo) {
  const started = new Promise<void>((resolve) => {
    go = resolve;
  });
  send({ type: 'loaded' });
  await started;
}
await connectAll();
