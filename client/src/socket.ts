/**
 * The slice of the WebSocket API the client uses: satisfied by the browser's WebSocket, by `ws` in Node, and by
 * test fakes.
 */

// Handlers typed through a method are checked bivariantly, so the DOM's `(ev: MessageEvent) => any` and ws's
// own event classes both fit these structural event types.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

export interface SocketCloseEvent {
  readonly code: number;
  readonly reason: string;
}

export interface SocketMessageEvent {
  readonly data: unknown;
}

export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<SocketMessageEvent> | null;
  onerror: Handler<unknown> | null;
  onclose: Handler<SocketCloseEvent> | null;
  /**
   * `ws` (Node) only: it reports the HTTP status of a refused upgrade through 'unexpected-response', which a
   * browser never exposes.
   */
  on?: (
    event: 'unexpected-response',
    listener: (request: unknown, response: { statusCode?: number }) => void,
  ) => unknown;
  /** `ws` only: drops the connection without a closing handshake. */
  terminate?: () => void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** ReadyState OPEN, the same in every implementation. */
export const OPEN = 1;

/**
 * The global WebSocket when there is one (browsers, Deno, Node 22+); otherwise `ws`, loaded only then.
 *
 * A browser bundle must never carry `ws`, which a browser cannot run and does not need, and a bundler that
 * meets a literal `import('ws')` tries to resolve it (and fails the build where ws is not installed). So the
 * name is computed at run time: a constant would be folded back into a literal by esbuild's minifier.
 */
export async function resolveWebSocket(moduleName = ['w', 's'].join('')): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global === 'function') return global as WebSocketConstructor;
  const loaded = (await import(/* @vite-ignore */ /* webpackIgnore: true */ moduleName)) as {
    default?: unknown;
    WebSocket?: unknown;
  };
  const exported = loaded.WebSocket ?? loaded.default;
  if (typeof exported !== 'function') throw new TypeError('the ws module exports no WebSocket class');
  return exported as WebSocketConstructor;
}
