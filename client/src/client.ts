import type {
  AckFrame,
  ClientAction,
  ClientFrame,
  JsonValue,
  MessageFrame,
  NotificationFrame,
  PongFrame,
  PresenceFrame,
  RequestId,
} from '../../lambdas/core/protocol.js';
import { type BackoffSettings, backoffDelay } from './backoff.js';
import { BoundedQueue, type OverflowPolicy } from './bounded-queue.js';
import {
  BEARER_PREFIX,
  ClientErrorCode,
  MAX_DATA_BYTES,
  MAX_FRAME_BYTES,
  ROOM_NAME_PATTERN,
  ServerErrorCode,
  SUBPROTOCOL,
} from './constants.js';
import { Emitter, type Listener } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { RecentIds } from './recent-ids.js';
import {
  OPEN,
  resolveWebSocket,
  type SocketCloseEvent,
  type WebSocketConstructor,
  type WebSocketLike,
} from './socket.js';

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The `result` of an ack frame. */
export type AckResult = AckFrame['result'];

/** A token, or a function called for a fresh one before every connection attempt. */
export type TokenSource = string | (() => string | Promise<string>);

type FrameOf<A extends ClientAction> = Extract<ClientFrame, { action: A }>;
/** The fields of a client frame other than `action` and `id`, which the client sets. */
export type RequestPayload<A extends ClientAction> = Omit<FrameOf<A>, 'action' | 'id'>;
/** `ping` resolves with the pong frame, every other action with its ack's `result`. */
export type RequestResult<A extends ClientAction> = A extends 'ping' ? PongFrame : AckResult;
type RequestArgs<A extends ClientAction> =
  Partial<RequestPayload<A>> extends RequestPayload<A>
    ? [payload?: RequestPayload<A>, options?: RequestOptions]
    : [payload: RequestPayload<A>, options?: RequestOptions];

export interface RequestOptions {
  /**
   * Milliseconds to wait for the reply once the frame is on the wire (time spent in the offline queue does not
   * count, so a queued request does not expire while the client is offline).
   * @default - the client's `requestTimeout`
   */
  readonly timeout?: number;
}

export interface SendOptions extends RequestOptions {
  /** Do not deliver the message back to this connection. @default - false (the server's default) */
  readonly excludeSelf?: boolean;
  /**
   * Drop the message instead of queueing it while not connected: the promise rejects with `NOT_CONNECTED`.
   * For data that is stale by the time a reconnect happens (cursor positions, typing indicators).
   * @default - false
   */
  readonly volatile?: boolean;
}

export interface StateChange {
  readonly state: ConnectionState;
  readonly previous: ConnectionState;
}

export interface SwitchboardEvents {
  message: MessageFrame;
  notification: NotificationFrame;
  presence: PresenceFrame;
  error: SwitchboardError;
  state: StateChange;
}

export interface ReconnectOptions {
  /** Ceiling of the first reconnect delay, in ms. @default - 1,000 */
  readonly initialDelay?: number;
  /** Largest reconnect delay ceiling, in ms. @default - 30,000 */
  readonly maxDelay?: number;
  /** Growth of the delay ceiling per failed attempt. @default - 2 */
  readonly factor?: number;
  /** Consecutive failed attempts before the client gives up with `CONNECTION_FAILED`. @default - Infinity */
  readonly maxAttempts?: number;
  /** A connection open this long (ms) resets the backoff to its first step. @default - 10,000 */
  readonly stableAfter?: number;
}

export interface AuthFailureContext {
  /** Connection attempts in a row that closed before opening, this one included. */
  readonly consecutiveFailures: number;
}

export interface SwitchboardClientOptions {
  /** The WebSocket URL, `wss://…/stage` on AWS. */
  readonly url: string;
  /** The JWT. A function is called again before every (re)connect, so it can hand out a refreshed token. */
  readonly token: TokenSource;
  /**
   * The WebSocket class. @default - the global WebSocket; in Node 20 (which has none) the `ws` package,
   * imported on first connect.
   */
  readonly WebSocket?: WebSocketConstructor;
  /** Reconnection settings, or `false` to go to `closed` when the connection drops. @default - see ReconnectOptions */
  readonly reconnect?: ReconnectOptions | false;
  /**
   * Milliseconds between application-level pings. API Gateway closes a connection idle for 10 minutes, and each
   * ping is a Lambda invocation, so the default is a few minutes, not seconds. 0 switches heartbeats off.
   * @default - 240,000 (4 minutes)
   */
  readonly heartbeatInterval?: number;
  /** Milliseconds to wait for a pong before the link counts as dead and is replaced. @default - 10,000 */
  readonly heartbeatTimeout?: number;
  /**
   * Milliseconds after which an open connection is replaced by a new one, ahead of API Gateway's hard 2-hour
   * limit. The old connection is retired only once the new one has rejoined every room. 0 switches it off.
   * @default - 6,900,000 (1 h 55 min)
   */
  readonly maxConnectionAge?: number;
  /** Milliseconds a connection attempt may take before it is abandoned and retried. @default - 10,000 */
  readonly connectTimeout?: number;
  /** Default reply timeout of a request, in ms. @default - 10,000 */
  readonly requestTimeout?: number;
  /** Requests held while not connected. @default - 100 */
  readonly queueSize?: number;
  /** What happens to a request when the offline queue is full. @default - 'drop-oldest' */
  readonly queueOverflow?: OverflowPolicy;
  /** Message and notification ids remembered for de-duplication. @default - 1,000 */
  readonly dedupeSize?: number;
  /**
   * Browsers hide the HTTP status of a refused upgrade: a 401 looks like any network failure (an error, then
   * close 1006 before open). When the status is hidden, this many attempts in a row that close before opening,
   * each with a freshly obtained token, are taken as an authentication rejection and the client stops with
   * `UNAUTHORIZED`. Attempts made while `navigator.onLine` is false do not count. Infinity switches the
   * heuristic off. In Node with `ws` the status is known and this is not used.
   * @default - 3
   */
  readonly authFailureThreshold?: number;
  /**
   * Decides whether a pre-open failure with a hidden status was an authentication rejection (for instance by
   * checking the token's expiry or calling an HTTP endpoint with it). Replaces `authFailureThreshold`.
   * @default - the `authFailureThreshold` heuristic
   */
  readonly isAuthFailure?: (context: AuthFailureContext) => boolean | Promise<boolean>;
  /** Random source in [0, 1) for the backoff jitter. @default - Math.random */
  readonly random?: () => number;
}

type Reply = AckFrame | PongFrame;

interface Pending {
  readonly link: Link;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: SwitchboardError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface Queued {
  readonly frame: ClientFrame;
  readonly timeout: number;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: SwitchboardError) => void;
}

/** One WebSocket and what is known about it. */
interface Link {
  readonly socket: WebSocketLike;
  opened: boolean;
  closed: boolean;
  /** HTTP status of a refused upgrade, when the runtime reveals it. */
  status: number | undefined;
  /** Whether this runtime reveals the status at all (`ws` does, browsers do not). */
  readonly statusVisible: boolean;
  timedOut: boolean;
  connectTimer: ReturnType<typeof setTimeout> | undefined;
}

interface Settings {
  readonly reconnect: (BackoffSettings & { readonly maxAttempts: number; readonly stableAfter: number }) | false;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  readonly maxConnectionAge: number;
  readonly connectTimeout: number;
  readonly requestTimeout: number;
  readonly authFailureThreshold: number;
}

// Application close codes must be 1000 or 3000-4999: browsers throw on any other code passed to close().
const CLOSE_DEAD_LINK = 4000;
const CLOSE_ROLLOVER = 1000;

/**
 * A client of a switchboard WebSocket API: connects with a JWT, keeps the connection alive, reconnects with
 * backoff, rejoins rooms, queues requests while offline and de-duplicates deliveries.
 */
export class SwitchboardClient {
  private readonly url: string;
  private readonly token: TokenSource;
  private readonly settings: Settings;
  private readonly random: () => number;
  private readonly isAuthFailure: SwitchboardClientOptions['isAuthFailure'];
  private WebSocketClass: WebSocketConstructor | undefined;

  private readonly events = new Emitter<SwitchboardEvents>();
  private readonly queue: BoundedQueue<Queued>;
  private readonly recent: RecentIds;
  private readonly pending = new Map<RequestId, Pending>();
  private readonly rooms = new Set<string>();
  private readonly lastSeq = new Map<string, number>();

  private currentState: ConnectionState = 'idle';
  /** The link in use (or being opened, or being restored after opening). */
  private link: Link | undefined;
  /** A replacement link opened ahead of the connection age limit. */
  private nextLink: Link | undefined;
  /** Old links kept until the replies they owe have arrived. */
  private readonly retiring = new Set<Link>();
  private attempt = 0;
  private preOpenFailures = 0;
  private hasBeenOpen = false;
  private nextRequestId = 1;
  /** Bumped by every stop, so work that awaited across one (a token fetch) can tell it is stale. */
  private session = 0;
  private waiting:
    | { resolve: () => void; reject: (error: SwitchboardError) => void; promise: Promise<void> }
    | undefined;

  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private stableTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private ageTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: SwitchboardClientOptions) {
    if (typeof options.url !== 'string' || !/^wss?:\/\//i.test(options.url)) {
      throw new TypeError(`url must be a ws:// or wss:// URL, got ${JSON.stringify(options.url)}`);
    }
    if (typeof options.token !== 'string' && typeof options.token !== 'function') {
      throw new TypeError(`token must be a string or a function returning one, got ${typeof options.token}`);
    }
    this.url = options.url;
    this.token = options.token;
    this.WebSocketClass = options.WebSocket;
    this.random = options.random ?? Math.random;
    this.isAuthFailure = options.isAuthFailure;
    const reconnect = options.reconnect === false ? false : (options.reconnect ?? {});
    this.settings = {
      reconnect:
        reconnect === false
          ? false
          : {
              initialDelay: atLeast('reconnect.initialDelay', reconnect.initialDelay ?? 1_000, 0),
              maxDelay: atLeast('reconnect.maxDelay', reconnect.maxDelay ?? 30_000, 0),
              factor: atLeast('reconnect.factor', reconnect.factor ?? 2, 1),
              maxAttempts: atLeast('reconnect.maxAttempts', reconnect.maxAttempts ?? Number.POSITIVE_INFINITY, 0),
              stableAfter: atLeast('reconnect.stableAfter', reconnect.stableAfter ?? 10_000, 0),
            },
      heartbeatInterval: atLeast('heartbeatInterval', options.heartbeatInterval ?? 240_000, 0),
      heartbeatTimeout: atLeast('heartbeatTimeout', options.heartbeatTimeout ?? 10_000, 1),
      maxConnectionAge: atLeast('maxConnectionAge', options.maxConnectionAge ?? 6_900_000, 0),
      connectTimeout: atLeast('connectTimeout', options.connectTimeout ?? 10_000, 1),
      requestTimeout: atLeast('requestTimeout', options.requestTimeout ?? 10_000, 1),
      authFailureThreshold: atLeast('authFailureThreshold', options.authFailureThreshold ?? 3, 1),
    };
    this.queue = new BoundedQueue(
      atLeast('queueSize', options.queueSize ?? 100, 0),
      oneOf('queueOverflow', options.queueOverflow ?? 'drop-oldest', ['drop-oldest', 'reject']),
    );
    this.recent = new RecentIds(atLeast('dedupeSize', options.dedupeSize ?? 1_000, 1));
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Rooms this client is in; they are rejoined after every reconnect. */
  get joinedRooms(): readonly string[] {
    return [...this.rooms];
  }

  on<K extends keyof SwitchboardEvents>(event: K, listener: Listener<SwitchboardEvents[K]>): () => void {
    return this.events.on(event, listener);
  }

  off<K extends keyof SwitchboardEvents>(event: K, listener: Listener<SwitchboardEvents[K]>): void {
    this.events.off(event, listener);
  }

  /**
   * Opens the connection. Resolves once it is open (and, after a reconnect, once rooms are rejoined); rejects
   * with `UNAUTHORIZED`, `CONNECTION_FAILED` or `CLOSED` if the client stops first. Retries with backoff meanwhile.
   */
  connect(): Promise<void> {
    if (this.currentState === 'open') return Promise.resolve();
    if (!this.waiting) {
      let resolve!: () => void;
      let reject!: (error: SwitchboardError) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.waiting = { resolve, reject, promise };
    }
    if (this.currentState === 'idle' || this.currentState === 'closed') {
      this.attempt = 0;
      this.preOpenFailures = 0;
      this.hasBeenOpen = false;
      this.setState('connecting');
      void this.openLink('primary');
    }
    return this.waiting.promise;
  }

  /**
   * Closes the connection on purpose: no reconnect. Pending and queued requests reject with `CLOSED`, and the
   * room list is cleared. `connect()` may be called again afterwards.
   */
  close(code = 1000, reason = ''): void {
    this.stop(new SwitchboardError(ClientErrorCode.CLOSED, 'the client was closed'), false, code, reason);
    this.rooms.clear();
    this.lastSeq.clear();
  }

  /** Joins a room; it is rejoined automatically after every reconnect. */
  join(room: string, options?: RequestOptions): Promise<AckResult> {
    return this.request('join', { room }, options);
  }

  /** Leaves a room; it is no longer rejoined after a reconnect. */
  leave(room: string, options?: RequestOptions): Promise<AckResult> {
    return this.request('leave', { room }, options);
  }

  /** Sends `data` to everyone in `room` (queued while offline unless `volatile`). */
  send(room: string, data: JsonValue, options: SendOptions = {}): Promise<AckResult> {
    const payload: RequestPayload<'send'> =
      options.excludeSelf === undefined ? { room, data } : { room, data, excludeSelf: options.excludeSelf };
    if (options.volatile && this.currentState !== 'open') {
      return Promise.reject(
        new SwitchboardError(ClientErrorCode.NOT_CONNECTED, 'volatile message dropped: the client is not connected'),
      );
    }
    return this.request('send', payload, options);
  }

  /**
   * Sends any protocol action and resolves with its reply: the ack's `result`, or the pong frame for `ping`.
   * Rejects with a `SwitchboardError` carrying the server's code, or `TIMEOUT`, `DISCONNECTED`, `CLOSED`,
   * `QUEUE_OVERFLOW`. While not connected the request waits in the offline queue.
   */
  request<A extends ClientAction>(action: A, ...[payload, options]: RequestArgs<A>): Promise<RequestResult<A>> {
    const frame = { ...(payload ?? {}), action } as ClientFrame;
    const invalid = validate(frame);
    if (invalid) return Promise.reject(invalid);
    if (frame.action === 'leave') {
      // Forget the room at once, so that a reconnect racing this request does not rejoin it.
      this.rooms.delete(frame.room);
      this.lastSeq.delete(frame.room);
    }
    const timeout = atLeast('timeout', options?.timeout ?? this.settings.requestTimeout, 1);
    return this.dispatch(frame, timeout).then((reply) => {
      if (frame.action === 'join') this.rooms.add(frame.room);
      return (reply.type === 'pong' ? reply : reply.result) as RequestResult<A>;
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Outbound
  // -------------------------------------------------------------------------------------------------------

  private dispatch(frame: ClientFrame, timeout: number): Promise<Reply> {
    if (this.currentState === 'closed') {
      return Promise.reject(new SwitchboardError(ClientErrorCode.CLOSED, 'the client is closed'));
    }
    if (this.currentState === 'open' && this.link) return this.sendOn(this.link, frame, timeout);
    return new Promise<Reply>((resolve, reject) => {
      const offered = this.queue.offer({ frame, timeout, resolve, reject });
      if (!offered.accepted) {
        reject(new SwitchboardError(ClientErrorCode.QUEUE_OVERFLOW, 'the offline queue is full'));
      } else if (offered.dropped) {
        offered.dropped.reject(
          new SwitchboardError(
            ClientErrorCode.QUEUE_OVERFLOW,
            'dropped from the full offline queue for a newer request',
          ),
        );
      }
    });
  }

  /** Puts a frame with a fresh id on `link` and waits for the ack, pong or error that answers it. */
  private sendOn(link: Link, frame: ClientFrame, timeout: number): Promise<Reply> {
    const id = this.nextRequestId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id);
        reject(new SwitchboardError(ClientErrorCode.TIMEOUT, `no reply to ${frame.action} within ${timeout} ms`));
      }, timeout);
      this.pending.set(id, { link, resolve, reject, timer });
      try {
        if (link.closed || link.socket.readyState !== OPEN) throw new Error('socket not open');
        link.socket.send(JSON.stringify({ ...frame, id }));
      } catch (cause) {
        this.settle(id);
        reject(new SwitchboardError(ClientErrorCode.DISCONNECTED, 'the connection is gone', { cause }));
      }
    });
  }

  /** Forgets a pending request; finishes retiring its link if that was the last reply it owed. */
  private settle(id: RequestId): Pending | undefined {
    const pending = this.pending.get(id);
    if (!pending) return undefined;
    clearTimeout(pending.timer);
    this.pending.delete(id);
    if (this.retiring.has(pending.link) && !this.hasPendingOn(pending.link)) {
      closeQuietly(pending.link.socket, CLOSE_ROLLOVER, 'connection rollover');
      this.retiring.delete(pending.link);
    }
    return pending;
  }

  private hasPendingOn(link: Link): boolean {
    for (const pending of this.pending.values()) if (pending.link === link) return true;
    return false;
  }

  private rejectPending(error: SwitchboardError, link?: Link): void {
    for (const [id, pending] of this.pending) {
      if (link && pending.link !== link) continue;
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(error);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Connection lifecycle
  // -------------------------------------------------------------------------------------------------------

  private async openLink(role: 'primary' | 'rollover'): Promise<void> {
    const session = this.session;
    let token: string;
    let WebSocketClass: WebSocketConstructor;
    try {
      token = typeof this.token === 'function' ? await this.token() : this.token;
      if (typeof token !== 'string' || token.length === 0) throw new TypeError('the token function returned no token');
    } catch (cause) {
      if (session !== this.session) return;
      this.emitError(new SwitchboardError(ClientErrorCode.TOKEN_ERROR, 'could not obtain a token', { cause }));
      if (role === 'primary') this.scheduleReconnect();
      return;
    }
    try {
      this.WebSocketClass ??= await resolveWebSocket();
      WebSocketClass = this.WebSocketClass;
    } catch (cause) {
      if (session === this.session) this.fail('no WebSocket implementation: pass the WebSocket option', cause);
      return;
    }
    if (session !== this.session || (role === 'rollover' && this.currentState !== 'open')) return;

    let socket: WebSocketLike;
    try {
      socket = new WebSocketClass(this.url, [SUBPROTOCOL, BEARER_PREFIX + token]);
    } catch (cause) {
      // A constructor throws only for a malformed URL or a token with characters a subprotocol cannot carry:
      // retrying cannot help.
      this.fail('the WebSocket could not be created: check the url and the token', cause);
      return;
    }
    const link: Link = {
      socket,
      opened: false,
      closed: false,
      status: undefined,
      statusVisible: typeof socket.on === 'function',
      timedOut: false,
      connectTimer: undefined,
    };
    if (role === 'primary') this.link = link;
    else this.nextLink = link;

    socket.onopen = () => this.onOpen(link, role);
    socket.onmessage = (event) => this.onMessage(event.data);
    socket.onclose = (event) => this.onClose(link, event);
    // The close event that always follows carries what is needed. The handler must exist all the same: `ws`
    // throws an 'error' event that has no listener.
    socket.onerror = () => {};
    socket.on?.('unexpected-response', (_request, response) => {
      // With a listener here `ws` leaves aborting the handshake to us; terminate() does it and emits close.
      link.status = response.statusCode;
      if (socket.terminate) socket.terminate();
      else closeQuietly(socket, CLOSE_DEAD_LINK, 'handshake refused');
    });
    link.connectTimer = setTimeout(() => {
      link.timedOut = true;
      this.abandon(link, 'connect timeout');
    }, this.settings.connectTimeout);
  }

  private onOpen(link: Link, role: 'primary' | 'rollover'): void {
    clearTimeout(link.connectTimer);
    link.opened = true;
    this.preOpenFailures = 0;
    if (role === 'rollover') {
      void this.completeRollover(link);
      return;
    }
    this.startLinkTimers(link);
    void this.restore(link);
  }

  /** After a (re)connect: rejoin rooms, ask for missed messages, flush the offline queue, then report open. */
  private async restore(link: Link): Promise<void> {
    const reconnected = this.hasBeenOpen;
    if (!(await this.rejoin(link))) return;
    if (reconnected && this.lastSeq.size > 0) {
      this.sendOn(
        link,
        { action: 'resume', since: Object.fromEntries(this.lastSeq) },
        this.settings.requestTimeout,
      ).catch((error: SwitchboardError) => {
        // Durable delivery is a later server feature: UNSUPPORTED means "nothing to replay", not a failure.
        if (error.code !== ServerErrorCode.UNSUPPORTED && error.code !== ClientErrorCode.DISCONNECTED) {
          this.emitError(error);
        }
      });
    }
    // Flushed before the state turns open, so that nothing sent from a 'state' listener overtakes older requests.
    for (const queued of this.queue.drain()) {
      this.sendOn(link, queued.frame, queued.timeout).then(queued.resolve, queued.reject);
    }
    this.hasBeenOpen = true;
    this.setState('open');
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve();
  }

  /**
   * Joins every known room on `link` and waits for the acks: API Gateway invokes a Lambda per frame, in parallel,
   * so a queued `send` written right behind its `join` could otherwise be handled first and fail NOT_IN_ROOM.
   * Returns false when the link failed meanwhile.
   */
  private async rejoin(link: Link): Promise<boolean> {
    const rooms = [...this.rooms];
    const results = await Promise.allSettled(
      rooms.map((room) => this.sendOn(link, { action: 'join', room }, this.settings.requestTimeout)),
    );
    if (link.closed) return false;
    for (const [index, result] of results.entries()) {
      if (result.status === 'fulfilled') continue;
      const error = result.reason as SwitchboardError;
      if (error.code === ClientErrorCode.TIMEOUT || error.code === ClientErrorCode.DISCONNECTED) {
        this.abandon(link, 'rejoin failed');
        return false;
      }
      const room = rooms[index] as string;
      this.rooms.delete(room);
      this.lastSeq.delete(room);
      this.emitError(
        new SwitchboardError(error.code, `could not rejoin room ${room}: ${error.message}`, { cause: error, room }),
      );
    }
    return true;
  }

  private async completeRollover(link: Link): Promise<void> {
    if (!(await this.rejoin(link)) || this.currentState !== 'open' || link !== this.nextLink) {
      if (link === this.nextLink) this.abandon(link, 'rollover failed');
      return;
    }
    const old = this.link;
    this.nextLink = undefined;
    this.link = link;
    this.stopLinkTimers();
    this.startLinkTimers(link);
    if (!old) return;
    // The old link stays until it has delivered the replies it owes; room messages arriving on both links
    // meanwhile are de-duplicated by id.
    if (this.hasPendingOn(old)) {
      this.retiring.add(old);
    } else {
      detach(old);
      closeQuietly(old.socket, CLOSE_ROLLOVER, 'connection rollover');
    }
  }

  private onClose(link: Link, event: SocketCloseEvent): void {
    if (link.closed) return;
    link.closed = true;
    clearTimeout(link.connectTimer);
    this.rejectPending(
      new SwitchboardError(ClientErrorCode.DISCONNECTED, `the connection closed (${event.code}) before the reply`),
      link,
    );
    if (this.retiring.delete(link)) return;
    if (link === this.nextLink) {
      // A failed rollover costs nothing: the old link carries on, and when API Gateway closes it at its 2-hour
      // limit the ordinary reconnect takes over.
      this.nextLink = undefined;
      return;
    }
    if (link !== this.link) return;
    this.link = undefined;
    this.stopLinkTimers();
    if (this.currentState === 'closed') return;
    if (link.opened) {
      // Any close we did not ask for, including a management-API DELETE (1000, 1001 or 1006), the idle timeout
      // and the 2-hour limit (1001), is reconnected.
      this.scheduleReconnect();
    } else {
      void this.onPreOpenFailure(link);
    }
  }

  private async onPreOpenFailure(link: Link): Promise<void> {
    if (link.status === 401 || link.status === 403) {
      this.unauthorized(`the server refused the connection (HTTP ${link.status})`);
      return;
    }
    if (link.statusVisible || link.timedOut) {
      this.scheduleReconnect();
      return;
    }
    if ((globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine !== false) this.preOpenFailures += 1;
    const session = this.session;
    const consecutiveFailures = this.preOpenFailures;
    let isAuthFailure: boolean;
    try {
      isAuthFailure = this.isAuthFailure
        ? await this.isAuthFailure({ consecutiveFailures })
        : consecutiveFailures >= this.settings.authFailureThreshold;
    } catch {
      isAuthFailure = false;
    }
    if (session !== this.session) return;
    if (isAuthFailure) {
      this.unauthorized(`the connection closed before opening ${consecutiveFailures} times in a row`);
    } else {
      this.scheduleReconnect();
    }
  }

  private unauthorized(message: string): void {
    this.stop(new SwitchboardError(ClientErrorCode.UNAUTHORIZED, message), true);
  }

  private fail(message: string, cause?: unknown): void {
    this.stop(new SwitchboardError(ClientErrorCode.CONNECTION_FAILED, message, { cause }), true);
  }

  private scheduleReconnect(): void {
    const reconnect = this.settings.reconnect;
    if (reconnect === false) {
      this.fail('the connection was lost and reconnect is off');
      return;
    }
    if (this.attempt >= reconnect.maxAttempts) {
      this.fail(`gave up after ${this.attempt} reconnect attempts`);
      return;
    }
    const delay = backoffDelay(this.attempt, reconnect, this.random);
    this.attempt += 1;
    this.setState('reconnecting');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.openLink('primary');
    }, delay);
  }

  /**
   * Gives up on a link without waiting for its close event, which on a dead TCP connection may take minutes,
   * and handles it as closed now.
   */
  private abandon(link: Link, reason: string): void {
    detach(link);
    closeQuietly(link.socket, CLOSE_DEAD_LINK, reason, true);
    this.onClose(link, { code: 1006, reason });
  }

  /** Ends the session: no timers, no reconnect, every waiting promise rejected with `error`. */
  private stop(error: SwitchboardError, report: boolean, code = 1000, reason = ''): void {
    this.session += 1;
    clearTimeout(this.reconnectTimer);
    this.stopLinkTimers();
    for (const link of [this.link, this.nextLink, ...this.retiring]) {
      if (!link || link.closed) continue;
      clearTimeout(link.connectTimer);
      link.closed = true;
      detach(link);
      closeQuietly(link.socket, code, reason);
    }
    this.link = undefined;
    this.nextLink = undefined;
    this.retiring.clear();
    this.rejectPending(error);
    for (const queued of this.queue.drain()) queued.reject(error);
    const waiting = this.waiting;
    this.waiting = undefined;
    this.setState('closed');
    waiting?.reject(error);
    if (report) this.emitError(error);
  }

  private startLinkTimers(link: Link): void {
    const reconnect = this.settings.reconnect;
    if (reconnect !== false) {
      this.stableTimer = setTimeout(() => {
        this.attempt = 0;
      }, reconnect.stableAfter);
    }
    if (this.settings.maxConnectionAge > 0) {
      this.ageTimer = setTimeout(() => {
        if (this.currentState === 'open' && !this.nextLink) void this.openLink('rollover');
      }, this.settings.maxConnectionAge);
    }
    this.scheduleHeartbeat(link);
  }

  private stopLinkTimers(): void {
    clearTimeout(this.stableTimer);
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.ageTimer);
  }

  private scheduleHeartbeat(link: Link): void {
    if (this.settings.heartbeatInterval === 0) return;
    this.heartbeatTimer = setTimeout(() => {
      this.sendOn(link, { action: 'ping' }, this.settings.heartbeatTimeout).then(
        () => {
          if (link === this.link) this.scheduleHeartbeat(link);
        },
        (error: SwitchboardError) => {
          if (link !== this.link) return;
          if (error.code === ClientErrorCode.TIMEOUT) this.abandon(link, 'heartbeat timeout');
          // A server error (RATE_LIMITED, say) still proves the link is alive.
          else if (error.code !== ClientErrorCode.DISCONNECTED) this.scheduleHeartbeat(link);
        },
      );
    }, this.settings.heartbeatInterval);
  }

  // -------------------------------------------------------------------------------------------------------
  // Inbound
  // -------------------------------------------------------------------------------------------------------

  private onMessage(data: unknown): void {
    // Protocol v1 is JSON text; binary or malformed frames are not ours to interpret.
    if (typeof data !== 'string') return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!isRecord(frame)) return;
    // A frame of a known type that lacks the fields the listeners read is dropped like garbage, so a broken
    // proxy or server cannot hand an application a `message` without a room or a join result that is not one.
    switch (frame.type) {
      case 'ack':
      case 'pong': {
        if (frame.type === 'ack' && !isRecord(frame.result)) return;
        this.settle(frame.id as RequestId)?.resolve(frame as Reply);
        return;
      }
      case 'error': {
        // The code is what callers branch on: an error frame without a usable one still fails its request.
        const code = typeof frame.code === 'string' && frame.code.length > 0 ? frame.code : ServerErrorCode.INTERNAL;
        const error = new SwitchboardError(
          code as SwitchboardError['code'],
          typeof frame.message === 'string' ? frame.message : 'error',
          frame.id == null ? {} : { requestId: frame.id as RequestId },
        );
        const pending = frame.id == null ? undefined : this.settle(frame.id as RequestId);
        if (pending) pending.reject(error);
        else if (frame.id == null) this.emitError(error);
        return;
      }
      case 'message': {
        if (!hasStrings(frame, 'id', 'room', 'from') || this.recent.seen(`message:${frame.id}`)) return;
        const { room, seq } = frame;
        if (typeof room === 'string' && typeof seq === 'number' && this.rooms.has(room)) {
          this.lastSeq.set(room, Math.max(seq, this.lastSeq.get(room) ?? 0));
        }
        this.events.emit('message', frame as MessageFrame);
        return;
      }
      case 'notification': {
        if (!hasStrings(frame, 'id', 'event') || this.recent.seen(`notification:${frame.id}`)) return;
        this.events.emit('notification', frame as NotificationFrame);
        return;
      }
      case 'presence': {
        if (!hasStrings(frame, 'room', 'user', 'state')) return;
        this.events.emit('presence', frame as PresenceFrame);
        return;
      }
      default:
      // Unknown frame types are skipped: protocol v1 may add new ones.
    }
  }

  private setState(state: ConnectionState): void {
    const previous = this.currentState;
    if (state === previous) return;
    this.currentState = state;
    this.events.emit('state', { state, previous });
  }

  private emitError(error: SwitchboardError): void {
    this.events.emit('error', error);
  }
}

function validate(frame: ClientFrame): SwitchboardError | undefined {
  if ('room' in frame && !(typeof frame.room === 'string' && ROOM_NAME_PATTERN.test(frame.room))) {
    return new SwitchboardError(
      ServerErrorCode.INVALID_ROOM,
      'room names are 1-128 characters of A-Z a-z 0-9 _ . : @ | + = -',
    );
  }
  if (frame.action === 'send') {
    const json = JSON.stringify(frame.data);
    if (json === undefined) {
      return new SwitchboardError(ServerErrorCode.INVALID_MESSAGE, 'data must be a JSON value');
    }
    if (new TextEncoder().encode(json).length > MAX_DATA_BYTES) {
      return new SwitchboardError(ServerErrorCode.PAYLOAD_TOO_LARGE, `data is larger than ${MAX_DATA_BYTES} bytes`);
    }
  }
  // The request id is added when the frame is written; 80 bytes cover the longest one the protocol allows.
  if (new TextEncoder().encode(JSON.stringify(frame)).length + 80 > MAX_FRAME_BYTES) {
    return new SwitchboardError(
      ServerErrorCode.PAYLOAD_TOO_LARGE,
      `the frame would be larger than ${MAX_FRAME_BYTES} bytes, which API Gateway refuses by closing the connection`,
    );
  }
  return undefined;
}

function detach(link: Link): void {
  const socket = link.socket;
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = () => {};
}

function closeQuietly(socket: WebSocketLike, code: number, reason: string, hard = false): void {
  try {
    if (hard && socket.terminate) socket.terminate();
    else socket.close(code, reason);
  } catch {
    // Closing a socket that is already closing or closed is not an error worth reporting.
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasStrings(frame: Record<string, unknown>, ...fields: string[]): boolean {
  return fields.every((field) => typeof frame[field] === 'string');
}

function atLeast(name: string, value: number, min: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min) {
    throw new RangeError(`${name} must be a number >= ${min}, got ${String(value)}`);
  }
  return value;
}

function oneOf<T extends string>(name: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new RangeError(`${name} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  }
  return value;
}
