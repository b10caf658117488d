import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ConnectionState, SwitchboardClient, type SwitchboardClientOptions } from '../src/client.js';
import type { SwitchboardError } from '../src/errors.js';
import { ackEverything, FakeNodeWebSocket, FakeWebSocket } from './fake-websocket.js';

const URL = 'wss://example.test/prod';

function createClient(options: Partial<SwitchboardClientOptions> = {}): SwitchboardClient {
  return new SwitchboardClient({
    url: URL,
    token: 'token-1',
    WebSocket: FakeWebSocket,
    random: () => 0.5,
    reconnect: { initialDelay: 100, maxDelay: 1_000, factor: 2 },
    ...options,
  });
}

/** Lets promise callbacks and due timers run, without moving the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);

/** Connects a client and opens its first socket. */
async function connected(options: Partial<SwitchboardClientOptions> = {}): Promise<SwitchboardClient> {
  const client = createClient(options);
  const connecting = client.connect();
  await settle();
  FakeWebSocket.last().open();
  await connecting;
  return client;
}

function recordStates(client: SwitchboardClient): ConnectionState[] {
  const states: ConnectionState[] = [];
  client.on('state', ({ state }) => states.push(state));
  return states;
}

function recordErrors(client: SwitchboardClient): SwitchboardError[] {
  const errors: SwitchboardError[] = [];
  client.on('error', (error) => errors.push(error));
  return errors;
}

/** Waits `ms`, then reports how many sockets were created in that time. */
async function socketsCreatedWithin(ms: number): Promise<number> {
  const before = FakeWebSocket.instances.length;
  await vi.advanceTimersByTimeAsync(ms);
  return FakeWebSocket.instances.length - before;
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('SwitchboardClient: connecting', () => {
  it('offers the switchboard.v1 subprotocol and the token as a bearer subprotocol', async () => {
    // Act
    await connected({ token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln' });

    // Assess
    expect(FakeWebSocket.last().url).toBe(URL);
    expect(FakeWebSocket.last().protocols).toEqual([
      'switchboard.v1',
      'bearer.eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln',
    ]);
  });

  it('resolves connect() once the socket opens and reports each state change', async () => {
    // Prepare
    const client = createClient();
    const states = recordStates(client);
    const connecting = client.connect();
    await settle();
    expect(client.state).toBe('connecting');

    // Act
    FakeWebSocket.last().open();
    await connecting;

    // Assess
    expect(client.state).toBe('open');
    expect(states).toEqual(['connecting', 'open']);
  });

  it('calls the token function again before every reconnect', async () => {
    // Prepare
    const token = vi.fn<() => Promise<string>>().mockResolvedValueOnce('first').mockResolvedValueOnce('second');
    const client = await connected({ token });

    // Act
    FakeWebSocket.last().drop(1001, 'Going away');
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    expect(token).toHaveBeenCalledTimes(2);
    expect(FakeWebSocket.instances.map((socket) => socket.protocols?.[1])).toEqual(['bearer.first', 'bearer.second']);
    expect(client.state).toBe('reconnecting');
  });

  it('reports a failing token function and retries it with backoff', async () => {
    // Prepare
    const token = vi.fn<() => Promise<string>>().mockRejectedValueOnce(new Error('idp down')).mockResolvedValue('ok');
    const client = createClient({ token });
    const errors = recordErrors(client);

    // Act
    const connecting = client.connect();
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().open();
    await connecting;

    // Assess
    expect(errors.map((error) => error.code)).toEqual(['TOKEN_ERROR']);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(client.state).toBe('open');
  });

  it('retries an attempt that does not open within connectTimeout', async () => {
    // Prepare
    const client = createClient({ connectTimeout: 2_000 });
    void client.connect();
    await settle();

    // Act
    await vi.advanceTimersByTimeAsync(2_000);

    // Assess
    expect(FakeWebSocket.instances[0]?.closeCalls).toHaveLength(1);
    expect(client.state).toBe('reconnecting');
    expect(await socketsCreatedWithin(50)).toBe(1);
  });
});

describe('SwitchboardClient: reconnect backoff', () => {
  it('waits a fully jittered delay that doubles per failed attempt up to maxDelay', async () => {
    // Prepare: ws-like sockets reveal that these failures are network errors, not authentication.
    const client = createClient({ WebSocket: FakeNodeWebSocket });
    void client.connect();
    await settle();
    const delays: number[] = [];

    // Act: fail six attempts in a row and measure when each next socket appears.
    for (let failure = 0; failure < 6; failure += 1) {
      FakeWebSocket.last().drop();
      const before = FakeWebSocket.instances.length;
      let waited = 0;
      while (FakeWebSocket.instances.length === before) {
        await vi.advanceTimersByTimeAsync(1);
        waited += 1;
      }
      delays.push(waited);
    }

    // Assess: random() = 0.5 of a ceiling of 100, 200, 400, 800, then 1,000 ms.
    expect(delays).toEqual([50, 100, 200, 400, 500, 500]);
    expect(client.state).toBe('reconnecting');
  });

  /** A client (initialDelay 100 ms, stableAfter 5 s) whose third attempt opened after two failed ones, `openFor` ms ago. */
  async function openAfterTwoFailures(openFor: number) {
    const client = createClient({ WebSocket: FakeNodeWebSocket, reconnect: { initialDelay: 100, stableAfter: 5_000 } });
    void client.connect();
    await settle();
    FakeWebSocket.last().drop();
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().drop();
    await vi.advanceTimersByTimeAsync(100);
    FakeWebSocket.last().open();
    await vi.advanceTimersByTimeAsync(openFor);
    return client;
  }

  it('starts again from the first delay after the connection stayed open for stableAfter', async () => {
    // Prepare: two failures raise the next delay to 200 ms.
    const client = await openAfterTwoFailures(5_000);

    // Act
    FakeWebSocket.last().drop(1001);

    // Assess
    expect(await socketsCreatedWithin(49)).toBe(0);
    expect(await socketsCreatedWithin(1)).toBe(1);
    expect(client.state).toBe('reconnecting');
  });

  it('keeps growing the delay when connections drop before they are stable', async () => {
    // Prepare: two failures raise the next delay to 200 ms.
    const client = await openAfterTwoFailures(4_999);

    // Act
    FakeWebSocket.last().drop(1001);

    // Assess
    expect(await socketsCreatedWithin(199)).toBe(0);
    expect(await socketsCreatedWithin(1)).toBe(1);
    expect(client.state).toBe('reconnecting');
  });

  it('gives up with CONNECTION_FAILED after maxAttempts failed attempts', async () => {
    // Prepare
    const client = createClient({ WebSocket: FakeNodeWebSocket, reconnect: { initialDelay: 10, maxAttempts: 2 } });
    const errors = recordErrors(client);
    const connecting = client.connect();
    const outcome = connecting.catch((error: SwitchboardError) => error.code);
    await settle();

    // Act
    for (let attempt = 0; attempt < 3; attempt += 1) {
      FakeWebSocket.last().drop();
      await vi.advanceTimersByTimeAsync(100);
    }

    // Assess
    expect(FakeWebSocket.instances).toHaveLength(3);
    expect(await outcome).toBe('CONNECTION_FAILED');
    expect(errors.map((error) => error.code)).toEqual(['CONNECTION_FAILED']);
    expect(client.state).toBe('closed');
    expect(await socketsCreatedWithin(60_000)).toBe(0);
  });

  it.each([
    [1000, 'a management-API DELETE'],
    [1001, 'the idle timeout or the 2-hour limit'],
    [1006, 'a network failure'],
  ])('reconnects after close %i (%s)', async (code) => {
    // Prepare
    const client = await connected();

    // Act
    FakeWebSocket.last().drop(code);

    // Assess
    expect(client.state).toBe('reconnecting');
    expect(await socketsCreatedWithin(50)).toBe(1);
    FakeWebSocket.last().open();
    await settle();
    expect(client.state).toBe('open');
  });
});

describe('SwitchboardClient: deliberate close and authentication', () => {
  it('does not reconnect after close()', async () => {
    // Prepare
    const client = await connected();
    const socket = FakeWebSocket.last();

    // Act
    client.close(1000, 'bye');

    // Assess
    expect(client.state).toBe('closed');
    expect(socket.closeCalls).toEqual([{ code: 1000, reason: 'bye' }]);
    expect(await socketsCreatedWithin(60 * 60_000)).toBe(0);
  });

  it('rejects connect() with CLOSED when closed before the socket opens', async () => {
    // Prepare
    const client = createClient();
    const outcome = client.connect().catch((error: SwitchboardError) => error.code);
    await settle();

    // Act
    client.close();

    // Assess
    expect(await outcome).toBe('CLOSED');
    expect(await socketsCreatedWithin(60_000)).toBe(0);
  });

  it.each([401, 403])('stops with UNAUTHORIZED when ws reports HTTP %i for the upgrade', async (status) => {
    // Prepare
    const client = createClient({ WebSocket: FakeNodeWebSocket });
    const errors = recordErrors(client);
    const outcome = client.connect().catch((error: SwitchboardError) => error.code);
    await settle();
    const socket = FakeWebSocket.last() as FakeNodeWebSocket;

    // Act
    socket.respondWith(status);

    // Assess
    expect(await outcome).toBe('UNAUTHORIZED');
    expect(socket.terminated).toBe(true);
    expect(errors.map((error) => error.code)).toEqual(['UNAUTHORIZED']);
    expect(client.state).toBe('closed');
    expect(await socketsCreatedWithin(60_000)).toBe(0);
  });

  it('retries an upgrade refused with a server error such as 503', async () => {
    // Prepare
    const client = createClient({ WebSocket: FakeNodeWebSocket });
    void client.connect();
    await settle();

    // Act
    (FakeWebSocket.last() as FakeNodeWebSocket).respondWith(503);

    // Assess
    expect(client.state).toBe('reconnecting');
    expect(await socketsCreatedWithin(50)).toBe(1);
  });

  it('takes authFailureThreshold browser pre-open failures in a row as an authentication rejection', async () => {
    // Prepare
    const token = vi.fn(() => 'fresh');
    const client = createClient({ token, authFailureThreshold: 3 });
    const errors = recordErrors(client);
    const outcome = client.connect().catch((error: SwitchboardError) => error.code);
    await settle();

    // Act: two refusals are still retried ...
    FakeWebSocket.last().refuse();
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().refuse();
    await vi.advanceTimersByTimeAsync(100);
    expect(client.state).toBe('reconnecting');
    // ... the third, with a third fresh token, is not.
    FakeWebSocket.last().refuse();
    await settle();

    // Assess
    expect(token).toHaveBeenCalledTimes(3);
    expect(await outcome).toBe('UNAUTHORIZED');
    expect(errors.map((error) => error.code)).toEqual(['UNAUTHORIZED']);
    expect(client.state).toBe('closed');
    expect(await socketsCreatedWithin(60_000)).toBe(0);
  });

  it('counts only pre-open failures in a row: an opened connection resets the count', async () => {
    // Prepare
    const client = createClient({ authFailureThreshold: 2 });
    void client.connect();
    await settle();
    FakeWebSocket.last().refuse();
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().open();
    FakeWebSocket.last().drop(1001);
    await vi.advanceTimersByTimeAsync(100);

    // Act
    FakeWebSocket.last().refuse();
    await settle();

    // Assess
    expect(client.state).toBe('reconnecting');
  });

  it('lets isAuthFailure decide instead of the threshold', async () => {
    // Prepare
    const isAuthFailure = vi.fn().mockResolvedValueOnce(false).mockResolvedValueOnce(true);
    const client = createClient({ isAuthFailure });
    const outcome = client.connect().catch((error: SwitchboardError) => error.code);
    await settle();

    // Act
    FakeWebSocket.last().refuse();
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().refuse();

    // Assess
    expect(await outcome).toBe('UNAUTHORIZED');
    expect(isAuthFailure.mock.calls).toEqual([[{ consecutiveFailures: 1 }], [{ consecutiveFailures: 2 }]]);
  });
});

describe('SwitchboardClient: heartbeat', () => {
  it('pings every heartbeatInterval and stays open while pongs come back', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = await connected({ heartbeatInterval: 60_000, heartbeatTimeout: 5_000 });

    // Act
    await vi.advanceTimersByTimeAsync(3 * 60_000 + 10_000);

    // Assess
    expect(FakeWebSocket.last().frames('ping')).toHaveLength(3);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(client.state).toBe('open');
  });

  it('does not ping by default for the first few minutes', async () => {
    // Prepare
    await connected();

    // Act
    await vi.advanceTimersByTimeAsync(3 * 60_000);

    // Assess
    expect(FakeWebSocket.last().frames('ping')).toHaveLength(0);
  });

  it('treats a missing pong as a dead link and reconnects', async () => {
    // Prepare: a server that never answers.
    const client = await connected({ heartbeatInterval: 60_000, heartbeatTimeout: 5_000 });
    const dead = FakeWebSocket.last();

    // Act
    await vi.advanceTimersByTimeAsync(60_000 + 5_000);

    // Assess
    expect(dead.frames('ping')).toHaveLength(1);
    expect(dead.closeCalls).toEqual([{ code: 4000, reason: 'heartbeat timeout' }]);
    expect(client.state).toBe('reconnecting');
    expect(await socketsCreatedWithin(50)).toBe(1);
  });
});

describe('SwitchboardClient: proactive reconnect before the 2-hour limit', () => {
  it('opens a new connection at maxConnectionAge, rejoins on it, then retires the old one', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = await connected({ maxConnectionAge: 60 * 60_000, heartbeatInterval: 0 });
    await client.join('lobby');
    const states = recordStates(client);
    const old = FakeWebSocket.last();

    // Act
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    const replacement = FakeWebSocket.last();
    expect(replacement).not.toBe(old);
    expect(old.closeCalls).toEqual([]);
    replacement.open();
    await settle();

    // Assess
    expect(replacement.frames('join').map((frame) => frame.room)).toEqual(['lobby']);
    expect(old.closeCalls).toEqual([{ code: 1000, reason: 'connection rollover' }]);
    expect(states).toEqual([]);
    await client.send('lobby', 'after');
    expect(replacement.frames('send').map((frame) => frame.data)).toEqual(['after']);
    expect(old.frames('send')).toEqual([]);
  });

  it('keeps the old connection until it has delivered the replies it owes', async () => {
    // Prepare: no automatic replies, so a send on the old connection stays in flight.
    const client = await connected({ maxConnectionAge: 60 * 60_000, heartbeatInterval: 0 });
    const old = FakeWebSocket.last();
    await vi.advanceTimersByTimeAsync(60 * 60_000 - 1);
    const inFlight = client.send('lobby', 'before');
    await vi.advanceTimersByTimeAsync(1);

    // Act
    FakeWebSocket.last().open();
    await settle();
    expect(old.closeCalls).toEqual([]);
    const [frame] = old.frames('send');
    old.receive({ type: 'ack', id: frame?.id, result: { delivered: 2 } });

    // Assess
    await expect(inFlight).resolves.toEqual({ delivered: 2 });
    expect(old.closeCalls).toEqual([{ code: 1000, reason: 'connection rollover' }]);
    expect(client.state).toBe('open');
  });
});

describe('SwitchboardClient: offline queue', () => {
  it('rejoins rooms after a reconnect and flushes queued sends in order only after the rejoin acks', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = await connected();
    await client.join('lobby');
    FakeWebSocket.last().drop(1001);
    const sends = ['a', 'b', 'c'].map((data) => client.send('lobby', data));
    // The new server holds back its join ack, to show the queue waits for it.
    FakeWebSocket.responder = (frame) => (frame.action === 'join' ? undefined : ackEverything(frame));

    // Act
    await vi.advanceTimersByTimeAsync(50);
    const socket = FakeWebSocket.last();
    socket.open();
    await settle();
    const sentBeforeAck = socket.sent.map((frame) => frame.action);
    socket.receive({ type: 'ack', id: socket.frames('join')[0]?.id, result: { room: 'lobby' } });
    await settle();

    // Assess
    expect(sentBeforeAck).toEqual(['join']);
    expect(socket.sent.map((frame) => [frame.action, frame.data ?? frame.room])).toEqual([
      ['join', 'lobby'],
      ['send', 'a'],
      ['send', 'b'],
      ['send', 'c'],
    ]);
    await expect(Promise.all(sends)).resolves.toHaveLength(3);
    expect(client.state).toBe('open');
  });

  it('reports open only after the queue is flushed, so a send from a state listener comes last', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = await connected();
    FakeWebSocket.last().drop(1001);
    void client.send('lobby', 'queued');
    client.on('state', ({ state }) => {
      if (state === 'open') void client.send('lobby', 'from listener');
    });

    // Act
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().open();
    await settle();

    // Assess
    expect(
      FakeWebSocket.last()
        .frames('send')
        .map((frame) => frame.data),
    ).toEqual(['queued', 'from listener']);
  });

  it('queues requests made before connect() and sends them once open', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = createClient();
    const joined = client.join('lobby');

    // Act
    void client.connect();
    await settle();
    FakeWebSocket.last().open();

    // Assess
    await expect(joined).resolves.toEqual({ room: 'lobby' });
    expect(client.joinedRooms).toEqual(['lobby']);
  });

  it.each([
    {
      mode: 'drop-oldest' as const,
      behaviour: 'drops the oldest queued request',
      outcomes: ['QUEUE_OVERFLOW', 'sent', 'sent'],
      flushed: ['b', 'c'],
    },
    {
      mode: 'reject' as const,
      behaviour: 'refuses the newest request',
      outcomes: ['sent', 'sent', 'QUEUE_OVERFLOW'],
      flushed: ['a', 'b'],
    },
  ])('$behaviour with QUEUE_OVERFLOW when full in $mode mode', async ({ mode, outcomes, flushed }) => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = createClient({ queueSize: 2, queueOverflow: mode });
    const results = ['a', 'b', 'c'].map((data) =>
      client.send('lobby', data).then(
        () => 'sent',
        (error: SwitchboardError) => error.code,
      ),
    );

    // Act
    void client.connect();
    await settle();
    FakeWebSocket.last().open();

    // Assess
    expect(await Promise.all(results)).toEqual(outcomes);
    expect(
      FakeWebSocket.last()
        .frames('send')
        .map((frame) => frame.data),
    ).toEqual(flushed);
  });

  it('never queues a volatile send: it rejects with NOT_CONNECTED while offline', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = await connected();
    FakeWebSocket.last().drop(1001);

    // Act
    const volatile = client.send('lobby', { x: 1 }, { volatile: true });

    // Assess
    await expect(volatile).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().open();
    await settle();
    expect(FakeWebSocket.last().frames('send')).toEqual([]);
  });

  it('sends a volatile message at once while open, without a volatile field on the wire', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = await connected();

    // Act
    await client.send('lobby', 'cursor', { volatile: true, excludeSelf: true });

    // Assess
    expect(FakeWebSocket.last().frames('send')).toEqual([
      { action: 'send', room: 'lobby', data: 'cursor', excludeSelf: true, id: expect.any(Number) },
    ]);
  });

  it('rejects queued requests with CLOSED on close()', async () => {
    // Prepare
    const client = createClient();
    const queued = client.send('lobby', 'never');

    // Act
    client.close();

    // Assess
    await expect(queued).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(client.send('lobby', 'after close')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('SwitchboardClient: requests', () => {
  it('resolves with the result of the ack that carries the request id', async () => {
    // Prepare
    const client = await connected();
    const socket = FakeWebSocket.last();

    // Act
    const joined = client.join('lobby');
    const [frame] = socket.frames('join');
    socket.receive({ type: 'ack', id: frame?.id, result: { room: 'lobby', members: 3 } });

    // Assess
    await expect(joined).resolves.toEqual({ room: 'lobby', members: 3 });
    expect(client.joinedRooms).toEqual(['lobby']);
  });

  it('rejects with the code and message of an error frame', async () => {
    // Prepare
    const client = await connected();
    const socket = FakeWebSocket.last();

    // Act
    const joined = client.join('vip');
    const [frame] = socket.frames('join');
    socket.receive({ type: 'error', id: frame?.id, code: 'FORBIDDEN', message: 'not allowed in vip' });

    // Assess
    await expect(joined).rejects.toMatchObject({
      name: 'SwitchboardError',
      code: 'FORBIDDEN',
      message: 'not allowed in vip',
    });
    expect(client.joinedRooms).toEqual([]);
  });

  it('rejects with TIMEOUT when no reply arrives in time', async () => {
    // Prepare
    const client = await connected();

    // Act
    const outcome = client.request('send', { room: 'lobby', data: 1 }, { timeout: 1_000 }).catch((e) => e);
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    expect(await outcome).toMatchObject({ code: 'TIMEOUT' });
  });

  it('resolves a ping with the pong frame', async () => {
    // Prepare
    const client = await connected();
    const socket = FakeWebSocket.last();

    // Act
    const pong = client.request('ping');
    socket.receive({ type: 'pong', id: socket.frames('ping')[0]?.id, ts: 1_700_000_000_000 });

    // Assess
    await expect(pong).resolves.toEqual({ type: 'pong', id: 1, ts: 1_700_000_000_000 });
  });

  it('gives every request a unique id', async () => {
    // Prepare
    const client = await connected();

    // Act
    for (let i = 0; i < 20; i += 1) void client.send('lobby', i).catch(() => undefined);

    // Assess
    const ids = FakeWebSocket.last().sent.map((frame) => frame.id);
    expect(new Set(ids).size).toBe(20);
  });

  it('rejects requests in flight with DISCONNECTED when the connection drops', async () => {
    // Prepare
    const client = await connected();
    const inFlight = client.send('lobby', 'lost?');

    // Act
    FakeWebSocket.last().drop(1006);

    // Assess
    await expect(inFlight).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('rejects requests in flight with CLOSED on close()', async () => {
    // Prepare
    const client = await connected();
    const inFlight = client.send('lobby', 'x');

    // Act
    client.close();

    // Assess
    await expect(inFlight).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('refuses an invalid room name or oversized data without sending anything', async () => {
    // Prepare
    const client = await connected();

    // Act
    const badRoom = client.join('no spaces allowed');
    const tooBig = client.send('lobby', 'x'.repeat(64 * 1024));
    const notJson = client.send('lobby', undefined as never);

    // Assess
    await expect(badRoom).rejects.toMatchObject({ code: 'INVALID_ROOM' });
    await expect(tooBig).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await expect(notJson).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(FakeWebSocket.last().sent).toEqual([]);
  });

  it("refuses a frame over API Gateway's 32 KB frame limit, which would otherwise close the connection", async () => {
    // Prepare
    const client = await connected();

    // Act
    const overFrame = client.send('lobby', 'x'.repeat(33 * 1024));
    // Its ack never comes in this test; the request rejects when the client is torn down.
    client.send('lobby', 'x'.repeat(30 * 1024)).catch(() => undefined);

    // Assess
    await expect(overFrame).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    const sent = FakeWebSocket.last().sent;
    expect(sent).toHaveLength(1);
    expect(new TextEncoder().encode(String(sent[0])).length).toBeLessThanOrEqual(32 * 1024);
    expect(client.state).toBe('open');
  });
});

describe('SwitchboardClient: inbound frames', () => {
  const message = { type: 'message', room: 'lobby', from: 'alice', data: 'hi', ts: 1, id: 'm-1' };

  it('emits a message once even when its id arrives twice', async () => {
    // Prepare
    const client = await connected();
    const received = vi.fn();
    client.on('message', received);

    // Act
    FakeWebSocket.last().receive(message);
    FakeWebSocket.last().receive(message);
    FakeWebSocket.last().receive({ ...message, id: 'm-2' });

    // Assess
    expect(received.mock.calls.map(([frame]) => frame.id)).toEqual(['m-1', 'm-2']);
  });

  it('emits notifications and presence, de-duplicating notifications by id', async () => {
    // Prepare
    const client = await connected();
    const notifications = vi.fn();
    const presence = vi.fn();
    client.on('notification', notifications);
    client.on('presence', presence);
    const notification = { type: 'notification', event: 'invoice.paid', data: { n: 1 }, ts: 2, id: 'n-1' };

    // Act
    FakeWebSocket.last().receive(notification);
    FakeWebSocket.last().receive(notification);
    FakeWebSocket.last().receive({ type: 'presence', room: 'lobby', user: 'bob', state: 'joined', ts: 3 });

    // Assess
    expect(notifications).toHaveBeenCalledTimes(1);
    expect(notifications).toHaveBeenCalledWith(notification);
    expect(presence).toHaveBeenCalledWith({ type: 'presence', room: 'lobby', user: 'bob', state: 'joined', ts: 3 });
  });

  it('remembers only the last dedupeSize ids', async () => {
    // Prepare
    const client = await connected({ dedupeSize: 2 });
    const received = vi.fn();
    client.on('message', received);

    // Act
    for (const id of ['a', 'b', 'c', 'a']) FakeWebSocket.last().receive({ ...message, id });

    // Assess
    expect(received).toHaveBeenCalledTimes(4);
  });

  it('ignores unknown frame types, binary data and text that is not JSON', async () => {
    // Prepare
    const client = await connected();
    const listener = vi.fn();
    for (const event of ['message', 'notification', 'presence', 'error'] as const) client.on(event, listener);

    // Act
    FakeWebSocket.last().receive({ type: 'typing', room: 'lobby', user: 'bob' });
    FakeWebSocket.last().receive('not json {');
    FakeWebSocket.last().receive('[1,2]');
    FakeWebSocket.last().onmessage?.({ data: new ArrayBuffer(4) });

    // Assess
    expect(listener).not.toHaveBeenCalled();
    expect(client.state).toBe('open');
  });

  it('drops frames of known types that lack the fields listeners read', async () => {
    // Prepare
    const client = await connected();
    const listener = vi.fn();
    for (const event of ['message', 'notification', 'presence'] as const) client.on(event, listener);

    // Act
    FakeWebSocket.last().receive({ type: 'message', id: 'm-x', data: 'no room, no sender' });
    FakeWebSocket.last().receive({ type: 'message', id: 'm-y', room: 7, from: 'alice', data: 1 });
    FakeWebSocket.last().receive({ type: 'notification', id: 'n-x', data: 1 });
    FakeWebSocket.last().receive({ type: 'presence', room: 'lobby' });
    FakeWebSocket.last().receive(message);

    // Assess
    expect(listener.mock.calls).toEqual([[message]]);
    expect(client.state).toBe('open');
  });

  it('does not resolve a request with an ack that carries no result', async () => {
    // Prepare
    const client = await connected();
    const socket = FakeWebSocket.last();
    const joined = client.join('lobby', { timeout: 1_000 }).catch((error: SwitchboardError) => error);
    const id = socket.frames('join')[0]?.id;

    // Act
    socket.receive({ type: 'ack', id, result: 'not an object' });
    socket.receive({ type: 'ack', id, result: { room: 'lobby' } });

    // Assess
    await expect(joined).resolves.toEqual({ room: 'lobby' });
  });

  it('fails a request with INTERNAL when its error frame has no usable code', async () => {
    // Prepare
    const client = await connected();
    const socket = FakeWebSocket.last();
    const joined = client.join('lobby').catch((error: SwitchboardError) => error);

    // Act
    socket.receive({ type: 'error', id: socket.frames('join')[0]?.id, code: { nested: true }, message: 'broken' });

    // Assess
    expect(await joined).toMatchObject({ name: 'SwitchboardError', code: 'INTERNAL', message: 'broken' });
  });

  it('emits an error frame that answers no request as an error event', async () => {
    // Prepare
    const client = await connected();
    const errors = recordErrors(client);

    // Act
    FakeWebSocket.last().receive({ type: 'error', id: null, code: 'INVALID_JSON', message: 'not JSON' });

    // Assess
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'INVALID_JSON', message: 'not JSON' });
  });

  it('keeps delivering to other listeners after one unsubscribes', async () => {
    // Prepare
    const client = await connected();
    const first = vi.fn();
    const second = vi.fn();
    const unsubscribe = client.on('message', first);
    client.on('message', second);

    // Act
    unsubscribe();
    FakeWebSocket.last().receive(message);

    // Assess
    expect(first).not.toHaveBeenCalled();
    expect(second).toHaveBeenCalledTimes(1);
  });
});

describe('SwitchboardClient: resume and rejoin', () => {
  it('asks to resume from the last seq of each room after a reconnect and ignores UNSUPPORTED', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = await connected();
    await client.join('lobby');
    const errors = recordErrors(client);
    for (const [id, seq] of [
      ['m-5', 5],
      ['m-7', 7],
      ['m-6', 6],
    ] as const) {
      FakeWebSocket.last().receive({ type: 'message', room: 'lobby', from: 'a', data: 0, ts: 1, id, seq });
    }
    FakeWebSocket.last().drop(1001);
    FakeWebSocket.responder = (frame) =>
      frame.action === 'resume'
        ? { type: 'error', id: frame.id, code: 'UNSUPPORTED', message: 'durable delivery is not deployed' }
        : ackEverything(frame);

    // Act
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().open();
    await settle();

    // Assess
    expect(FakeWebSocket.last().frames('resume')).toEqual([
      { action: 'resume', since: { lobby: 7 }, id: expect.any(Number) },
    ]);
    expect(errors).toEqual([]);
    expect(client.state).toBe('open');
  });

  it('does not send resume on a first connect or when no seq was seen', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = await connected();
    await client.join('lobby');

    // Act
    FakeWebSocket.last().drop(1001);
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().open();
    await settle();

    // Assess
    expect(FakeWebSocket.instances.flatMap((socket) => socket.frames('resume'))).toEqual([]);
  });

  it('drops a room the server no longer lets it rejoin and reports it', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = await connected();
    await client.join('lobby');
    await client.join('vip');
    const errors = recordErrors(client);
    FakeWebSocket.last().drop(1001);
    FakeWebSocket.responder = (frame) =>
      frame.room === 'vip'
        ? { type: 'error', id: frame.id, code: 'FORBIDDEN', message: 'no longer allowed' }
        : ackEverything(frame);

    // Act
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().open();
    await settle();

    // Assess
    expect(client.joinedRooms).toEqual(['lobby']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'FORBIDDEN', room: 'vip' });
    expect(client.state).toBe('open');
  });

  it('does not rejoin a room it left while offline', async () => {
    // Prepare
    FakeWebSocket.responder = ackEverything;
    const client = await connected();
    await client.join('lobby');
    FakeWebSocket.last().drop(1001);

    // Act
    const left = client.leave('lobby');
    await vi.advanceTimersByTimeAsync(50);
    FakeWebSocket.last().open();
    await left;

    // Assess
    expect(FakeWebSocket.last().sent.map((frame) => frame.action)).toEqual(['leave']);
    expect(client.joinedRooms).toEqual([]);
  });
});

describe('SwitchboardClient: options', () => {
  it('rejects settings out of range with the value received', () => {
    expect(() => createClient({ reconnect: { factor: 0.5 } })).toThrow(
      'reconnect.factor must be a number >= 1, got 0.5',
    );
    expect(() => createClient({ queueSize: -1 })).toThrow('queueSize must be a number >= 0, got -1');
    expect(() => createClient({ url: 'https://example.test' })).toThrow('url must be a ws:// or wss:// URL');
  });
});
