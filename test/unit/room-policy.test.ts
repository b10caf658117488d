import { describe, expect, it } from 'vitest';
import type { Identity } from '../../lambdas/core/identity.js';
import { createDefaultRoomPolicy, roomsFromClaim } from '../../lambdas/core/room-policy.js';

const policy = createDefaultRoomPolicy({ roomsClaim: 'rooms' });
const identity = (sub: string, rooms?: unknown): Identity => ({
  sub,
  claims: rooms === undefined ? {} : { rooms: rooms as Identity['claims'][string] },
});

describe('default room policy', () => {
  it('opens public: rooms to any authenticated identity', () => {
    expect(policy.canJoin(identity('alice'), 'public:lobby')).toBe(true);
    expect(policy.canSend(identity('alice'), 'public:lobby')).toBe(true);
  });

  it('opens user:<sub> only to that sub, whatever the rooms claim lists', () => {
    expect(policy.canJoin(identity('alice'), 'user:alice')).toBe(true);
    expect(policy.canJoin(identity('alice'), 'user:bob')).toBe(false);
    expect(policy.canJoin(identity('mallory', ['user:bob', 'user:*']), 'user:bob')).toBe(false);
  });

  it('opens another room when the rooms claim lists it exactly', () => {
    expect(policy.canJoin(identity('alice', ['team:red']), 'team:red')).toBe(true);
    expect(policy.canJoin(identity('alice', ['team:red']), 'team:redder')).toBe(false);
  });

  it('opens rooms matching a prefix* pattern', () => {
    const member = identity('alice', ['team:*']);

    expect(policy.canJoin(member, 'team:blue')).toBe(true);
    expect(policy.canSend(member, 'team:blue')).toBe(true);
    expect(policy.canJoin(member, 'teams:blue')).toBe(false);
  });

  it('reads a space- or comma-separated rooms claim', () => {
    const member = identity('alice', 'team:red, ops:*  chat');

    expect(policy.canJoin(member, 'team:red')).toBe(true);
    expect(policy.canJoin(member, 'ops:pager')).toBe(true);
    expect(policy.canJoin(member, 'chat')).toBe(true);
    expect(policy.canJoin(member, 'team:blue')).toBe(false);
  });

  it('refuses other rooms without a rooms claim, or with a claim of the wrong type', () => {
    expect(policy.canJoin(identity('alice'), 'team:red')).toBe(false);
    expect(policy.canJoin(identity('alice', 42), 'team:red')).toBe(false);
  });

  it('does not treat a bare * as a grant of every room', () => {
    expect(policy.canJoin(identity('alice', ['*']), 'team:red')).toBe(false);
  });

  it('reads the claim named in the settings', () => {
    const custom = createDefaultRoomPolicy({ roomsClaim: 'channels' });

    expect(custom.canJoin({ sub: 'a', claims: { channels: ['x'] } }, 'x')).toBe(true);
    expect(custom.canJoin({ sub: 'a', claims: { rooms: ['x'] } }, 'x')).toBe(false);
  });
});

describe('roomsFromClaim', () => {
  it('keeps only non-empty strings of an array', () => {
    expect(roomsFromClaim(['a', 1, '', 'b', null])).toEqual(['a', 'b']);
  });
});
