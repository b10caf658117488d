import { describe, expect, it, vi } from 'vitest';
import { invocationLogger, type Log } from '../../lambdas/core/logger.js';

type LogMethod = (...args: unknown[]) => void;

function spyLog() {
  const spies = {
    debug: vi.fn<LogMethod>(),
    info: vi.fn<LogMethod>(),
    warn: vi.fn<LogMethod>(),
    error: vi.fn<LogMethod>(),
  };
  return spies as typeof spies & Log;
}

describe('invocationLogger', () => {
  it('stamps every line with the connection id as correlation id, and the request id', () => {
    // Prepare
    const parent = spyLog();
    const log = invocationLogger({ connectionId: 'c-1', requestId: 'r-1' }, parent);

    // Act
    log.info('Joined', { room: 'public:lobby' });

    // Assess
    expect(parent.info).toHaveBeenCalledWith(
      'Joined',
      { connectionId: 'c-1', requestId: 'r-1', correlation_id: 'c-1' },
      { room: 'public:lobby' },
    );
  });

  it('uses the request id as correlation id when there is no connection', () => {
    // Prepare
    const parent = spyLog();

    // Act
    invocationLogger({ requestId: 'r-2' }, parent).warn('Publish refused');

    // Assess
    expect(parent.warn).toHaveBeenCalledWith('Publish refused', { requestId: 'r-2', correlation_id: 'r-2' });
  });

  it('keeps an error passed alongside the keys, under "error"', () => {
    // Prepare
    const parent = spyLog();
    const failure = new Error('boom');

    // Act
    invocationLogger({ connectionId: 'c-3' }, parent).error('Delivery failed', failure);

    // Assess
    expect(parent.error).toHaveBeenCalledWith(
      'Delivery failed',
      { connectionId: 'c-3', correlation_id: 'c-3' },
      { error: failure },
    );
  });

  it('keeps concurrent invocations apart, as the local gateway runs them in one process', () => {
    // Prepare
    const parent = spyLog();
    const first = invocationLogger({ connectionId: 'a' }, parent);
    const second = invocationLogger({ connectionId: 'b' }, parent);

    // Act
    first.debug('one');
    second.debug('two');
    first.debug('three');

    // Assess
    expect(
      parent.debug.mock.calls.map(([message, keys]) => [message, (keys as { connectionId: string }).connectionId]),
    ).toEqual([
      ['one', 'a'],
      ['two', 'b'],
      ['three', 'a'],
    ]);
  });
});
