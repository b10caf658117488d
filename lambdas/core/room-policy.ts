/**
 * Who may join and send to which room. Pluggable: a deployment passes its own RoomPolicy to the handlers.
 *
 * The default:
 * - `public:*` rooms are open to any authenticated identity;
 * - `user:<sub>` is the private room of that one `sub`, whatever the claims say;
 * - any other room only when the rooms claim lists it, exactly or by a `prefix*` pattern such as `team:*`.
 */
import type { Identity } from './identity.js';

export interface RoomPolicy {
  canJoin(identity: Identity, room: string): boolean | Promise<boolean>;
  canSend(identity: Identity, room: string): boolean | Promise<boolean>;
}

export const PUBLIC_ROOM_PREFIX = 'public:';
export const USER_ROOM_PREFIX = 'user:';

/** The entries of a rooms claim: an array of strings, or one string separated by spaces or commas. */
export function roomsFromClaim(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/[\s,]+/).filter((entry) => entry.length > 0);
  if (Array.isArray(claim)) return claim.filter((entry): entry is string => typeof entry === 'string' && entry !== '');
  return [];
}

/**
 * Whether a claim entry grants a room. A pattern needs a non-empty prefix before its trailing `*`: a bare `*`
 * in a claim would open every room, which an identity provider is more likely to emit by mistake than mean.
 */
export function entryGrants(entry: string, room: string): boolean {
  if (entry.endsWith('*')) {
    const prefix = entry.slice(0, -1);
    return prefix.length > 0 && !prefix.includes('*') && room.startsWith(prefix);
  }
  return entry === room;
}

export function createDefaultRoomPolicy(options: { roomsClaim: string }): RoomPolicy {
  const allowed = (identity: Identity, room: string): boolean => {
    if (room.startsWith(USER_ROOM_PREFIX)) return room === `${USER_ROOM_PREFIX}${identity.sub}`;
    if (room.startsWith(PUBLIC_ROOM_PREFIX)) return true;
    return roomsFromClaim(identity.claims[options.roomsClaim]).some((entry) => entryGrants(entry, room));
  };
  return { canJoin: allowed, canSend: allowed };
}
