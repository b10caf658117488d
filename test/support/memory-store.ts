/** An in-memory ConnectionStore for unit tests of the code above the store. */
import type { ConnectionPage, ConnectionRecord, ConnectionStore } from '../../lambdas/core/connections.js';

export class MemoryConnectionStore implements ConnectionStore {
  readonly connections = new Map<string, ConnectionRecord>();
  readonly rooms = new Map<string, Set<string>>();
  readonly removed: string[] = [];

  constructor(private readonly pageSize = 2) {}

  async putConnection(record: ConnectionRecord): Promise<void> {
    this.connections.set(record.connectionId, record);
  }

  async removeConnection(connectionId: string): Promise<{ rooms: number }> {
    this.removed.push(connectionId);
    this.connections.delete(connectionId);
    let rooms = 0;
    for (const members of this.rooms.values()) if (members.delete(connectionId)) rooms++;
    return { rooms };
  }

  async join(connectionId: string, _userId: string, room: string): Promise<void> {
    const members = this.rooms.get(room) ?? new Set<string>();
    members.add(connectionId);
    this.rooms.set(room, members);
  }

  async leave(connectionId: string, room: string): Promise<void> {
    this.rooms.get(room)?.delete(connectionId);
  }

  async isMember(room: string, connectionId: string): Promise<boolean> {
    return this.rooms.get(room)?.has(connectionId) ?? false;
  }

  roomMembers(room: string): AsyncIterable<ConnectionPage> {
    return this.paged([...(this.rooms.get(room) ?? [])]);
  }

  userConnections(userId: string): AsyncIterable<ConnectionPage> {
    return this.paged([...this.connections.values()].filter((c) => c.userId === userId).map((c) => c.connectionId));
  }

  allConnections(): AsyncIterable<ConnectionPage> {
    return this.paged([...this.connections.keys()]);
  }

  private async *paged(ids: string[]): AsyncGenerator<ConnectionPage> {
    for (let i = 0; i < ids.length; i += this.pageSize) yield ids.slice(i, i + this.pageSize);
  }
}
