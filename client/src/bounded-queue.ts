/** `'drop-oldest'` evicts the oldest entry to admit a new one; `'reject'` refuses the new one. */
export type OverflowPolicy = 'drop-oldest' | 'reject';

export type OfferResult<T> = { readonly accepted: true; readonly dropped?: T } | { readonly accepted: false };

/** A FIFO queue holding at most `capacity` entries. */
export class BoundedQueue<T> {
  private items: T[] = [];

  constructor(
    private readonly capacity: number,
    private readonly overflow: OverflowPolicy,
  ) {}

  offer(item: T): OfferResult<T> {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return { accepted: true };
    }
    if (this.overflow === 'reject' || this.capacity === 0) return { accepted: false };
    const dropped = this.items.shift() as T;
    this.items.push(item);
    return { accepted: true, dropped };
  }

  /** Removes and returns every entry, oldest first. */
  drain(): T[] {
    const items = this.items;
    this.items = [];
    return items;
  }

  get length(): number {
    return this.items.length;
  }
}
