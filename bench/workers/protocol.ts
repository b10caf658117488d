/** Messages between the bench driver and its worker processes. */

export interface GatewayConfig {
  /** Dev tokens to sign for the clients, for subjects `bench-0` … `bench-(n-1)`. */
  tokens: number;
  /** Folder of the signing key. */
  stateDir: string;
  /** Run the handlers bundled in worker threads (`isolation: 'worker'`), this many per handler; 0: in-process. */
  handlerWorkers?: number;
}

export type GatewayIn =
  | { type: 'stop' }
  /** Start the CPU profiler now (the fan-out profiles only its measured publish). */
  | { type: 'profile-start' }
  /** Stop the CPU profiler (started at `ready` with BENCH_GATEWAY_PROFILE=1, or by `profile-start`), write it, answer with a summary. */
  | { type: 'profile'; file: string };

export type GatewayOut =
  | { type: 'profiling' }
  | { type: 'profiled'; breakdown: import('../support/profile.js').ComponentTime[] }
  | GatewayReady;

export type GatewayReady = {
  type: 'ready';
  url: string;
  callbackUrl: string;
  dynamodbEndpoint: string;
  tableName: string;
  tokens: string[];
};

export interface ClientsConfig {
  url: string;
  /** Tokens the connections use in turn. */
  tokens: string[];
  /** Connections this process opens. */
  connections: number;
  /** Connection attempts in flight at once. */
  concurrency: number;
  /** Room every connection joins after connecting. */
  room?: string;
  /** Wait for a `go` message before connecting, so several processes start together. */
  waitForGo?: boolean;
}

export type ClientsIn =
  | { type: 'stop' }
  | { type: 'go' }
  /** Report when every connection has received a message carrying `tag`. */
  | { type: 'expect'; tag: string }
  /** Close every connection and report when they are closed. */
  | { type: 'close' };

export type ClientsOut =
  /** Loaded and waiting for `go` (with `waitForGo`). */
  | { type: 'loaded' }
  /** Every connection is open (and joined, with a room). Times are `clock()` milliseconds. */
  | { type: 'ready'; opened: number; failed: number; firstStartAt: number; lastOpenAt: number; failures: string[] }
  /** Every connection received the message with `tag`; `lastAt` is when the last one did. */
  | { type: 'received'; tag: string; count: number; lastAt: number }
  | { type: 'closed' };
