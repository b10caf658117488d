/**
 * A real `ws` client for the integration tests, with a queue of received frames so a test can wait for the
 * one it expects, and the handshake outcome (status code) when the upgrade is refused.
 */
import { WebSocket } from 'ws';

export const SUBPROTOCOL = 'switchboard.v1';

export interface Closed {
  code: number;
  reason: string;
}

export class TestClient {
  readonly frames: unknown[] = [];
  readonly closed: Promise<Closed>;
  private waiters: Array<{ match: (frame: unknown) => boolean; resolve: (frame: unknown) => void }> = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
    );
    ws.on('message', (data: Buffer) => {
      let frame: unknown;
      try {
        frame = JSON.parse(data.toString('utf8'));
      } catch {
        frame = data.toString('utf8');
      }
      this.frames.push(frame);
      for (const waiter of [...this.waiters]) {
        if (waiter.match(frame)) {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          waiter.resolve(frame);
        }
      }
    });
  }

  /** Opens a connection offering the protocol and the token as subprotocols, as the SDK does. */
  static async open(
    url: string,
    token: string | undefined,
    options: { headers?: Record<string, string>; protocols?: string[] } = {},
  ): Promise<TestClient> {
    const protocols = options.protocols ?? [SUBPROTOCOL, ...(token ? [`bearer.${token}`] : [])];
    const ws = new WebSocket(url, protocols, { headers: options.headers, perMessageDeflate: false });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        reject(new HandshakeRefused(res.statusCode ?? 0));
        res.resume();
      });
      ws.once('error', reject);
    });
    return client;
  }

  /** Resolves with the status of a refused handshake; fails if the connection opens. */
  static async refusal(url: string, token: string | undefined, options: { headers?: Record<string, string> } = {}) {
    try {
      const client = await TestClient.open(url, token, options);
      client.ws.close();
    } catch (error) {
      if (error instanceof HandshakeRefused) return error.status;
      throw error;
    }
    throw new Error('The handshake succeeded');
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (already received or still to come) that matches. */
  next(match: (frame: unknown) => boolean, timeoutMs = 5000): Promise<unknown> {
    const seen = this.frames.find(match);
    if (seen !== undefined) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(`No matching frame within ${timeoutMs} ms; received ${JSON.stringify(this.frames).slice(0, 500)}`),
        );
      }, timeoutMs);
      const done = (frame: unknown) => {
        clearTimeout(timer);
        this.frames.splice(this.frames.indexOf(frame), 1);
        resolve(frame);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** Sends a request frame with an id and waits for the ack or error that answers it. */
  async request(frame: Record<string, unknown>, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const id = `r${Math.random().toString(36).slice(2)}`;
    this.send({ ...frame, id });
    return (await this.next((f) => isRecord(f) && f.id === id, timeoutMs)) as Record<string, unknown>;
  }

  /** Whether no frame matching arrives within `ms`. */
  async nothing(match: (frame: unknown) => boolean, ms = 300): Promise<boolean> {
    try {
      await this.next(match, ms);
      return false;
    } catch {
      return true;
    }
  }

  close(code = 1000): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code);
    return this.closed;
  }
}

export class HandshakeRefused extends Error {
  override readonly name = 'HandshakeRefused';
  constructor(readonly status: number) {
    super(`Handshake refused with ${status}`);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export const ofType =
  (type: string, extra: Record<string, unknown> = {}) =>
  (frame: unknown): boolean =>
    isRecord(frame) && frame.type === type && Object.entries(extra).every(([k, v]) => frame[k] === v);
