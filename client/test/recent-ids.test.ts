import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../src/bounded-queue.js';
import { RecentIds } from '../src/recent-ids.js';

describe('RecentIds', () => {
  it('reports an id as seen the second time', () => {
    const recent = new RecentIds(10);
    expect(recent.seen('a')).toBe(false);
    expect(recent.seen('a')).toBe(true);
  });

  it('forgets the least recently seen id beyond its capacity', () => {
    // Prepare
    const recent = new RecentIds(2);
    recent.seen('a');
    recent.seen('b');
    recent.seen('a'); // a is now more recent than b

    // Act
    recent.seen('c');

    // Assess
    expect(recent.size).toBe(2);
    expect(recent.seen('a')).toBe(true);
    expect(recent.seen('b')).toBe(false);
  });
});

describe('BoundedQueue', () => {
  it('drops the oldest entry for a new one when full in drop-oldest mode', () => {
    const queue = new BoundedQueue<number>(2, 'drop-oldest');
    queue.offer(1);
    queue.offer(2);
    expect(queue.offer(3)).toEqual({ accepted: true, dropped: 1 });
    expect(queue.drain()).toEqual([2, 3]);
  });

  it('refuses a new entry when full in reject mode', () => {
    const queue = new BoundedQueue<number>(2, 'reject');
    queue.offer(1);
    queue.offer(2);
    expect(queue.offer(3)).toEqual({ accepted: false });
    expect(queue.drain()).toEqual([1, 2]);
    expect(queue.length).toBe(0);
  });

  it('admits nothing at capacity zero', () => {
    expect(new BoundedQueue<number>(0, 'drop-oldest').offer(1)).toEqual({ accepted: false });
  });
});
