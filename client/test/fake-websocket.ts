import type { SocketCloseEvent, SocketMessageEvent, WebSocketLike } from '../src/socket.js';

type Frame = Record<string, unknown> & { action: string; id: number };

/** Answers a client frame the way a server would, or returns undefined to stay silent. */
export type Responder = (frame: Frame) => Record<string, unknown> | undefined;

/**
 * A WebSocket the test drives by hand, behaving like a browser's: the test opens it, delivers frames, refuses
 * or drops it. Every instance is recorded in `FakeWebSocket.instances`, in creation order.
 */
export class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = [];
  /** Applied to every frame every instance receives; replies arrive on a microtask, as from a real peer. */
  static responder: Responder | undefined;

  static reset(): void {
    FakeWebSocket.instances = [];
    FakeWebSocket.responder = undefined;
  }

  static last(): FakeWebSocket {
    const socket = FakeWebSocket.instances.at(-1);
    if (!socket) throw new Error('no socket was created');
    return socket;
  }

  readyState = 0;
  readonly sent: Frame[] = [];
  readonly closeCalls: { code: number | undefined; reason: string | undefined }[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: SocketMessageEvent) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: SocketCloseEvent) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeWebSocket.instances.push(this);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('InvalidStateError: the socket is not open');
    const frame = JSON.parse(data) as Frame;
    this.sent.push(frame);
    const reply = FakeWebSocket.responder?.(frame);
    if (reply) queueMicrotask(() => this.receive(reply));
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason });
    if (this.readyState >= 2) return;
    this.readyState = 2;
    queueMicrotask(() => this.finishClose(code ?? 1005, reason ?? ''));
  }

  // ---- what the test does as the network or the server ----

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: unknown): void {
    if (this.readyState !== 1) return;
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  /** A refused upgrade as a browser reports it: an error, then close 1006, no status. */
  refuse(): void {
    this.onerror?.({});
    this.finishClose(1006, '');
  }

  /** A close initiated by the server or the network. */
  drop(code = 1006, reason = ''): void {
    if (code === 1006) this.onerror?.({});
    this.finishClose(code, reason);
  }

  /** Frames the client sent with this action. */
  frames(action: string): Frame[] {
    return this.sent.filter((frame) => frame.action === action);
  }

  protected finishClose(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

/** A WebSocket that, like Node's `ws`, reports the HTTP status of a refused upgrade. */
export class FakeNodeWebSocket extends FakeWebSocket {
  private unexpectedResponse: ((request: unknown, response: { statusCode?: number }) => void) | undefined;
  terminated = false;

  on(event: 'unexpected-response', listener: (request: unknown, response: { statusCode?: number }) => void): this {
    if (event === 'unexpected-response') this.unexpectedResponse = listener;
    return this;
  }

  terminate(): void {
    this.terminated = true;
    this.onerror?.({});
    this.finishClose(1006, '');
  }

  /** The upgrade answered with an HTTP status instead of 101. */
  respondWith(statusCode: number): void {
    if (this.unexpectedResponse) this.unexpectedResponse({}, { statusCode });
    else this.refuse();
  }
}

/** Acks every join, leave, send and resume, and answers every ping. */
export const ackEverything: Responder = (frame) =>
  frame.action === 'ping'
    ? { type: 'pong', id: frame.id }
    : { type: 'ack', id: frame.id, result: frame.room === undefined ? {} : { room: frame.room as string } };
