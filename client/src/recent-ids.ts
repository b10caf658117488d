/**
 * A bounded set of recently seen ids, evicting the least recently seen. Delivery is at least once (a rollover
 * overlaps two connections, a resume may replay), so frames are de-duplicated by their server-assigned id.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** Records `id` and tells whether it had been seen already. */
  seen(id: string): boolean {
    const known = this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
    return known;
  }

  get size(): number {
    return this.ids.size;
  }
}
