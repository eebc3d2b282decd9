/**
 * The last `capacity` keys seen, for de-duplicating QoS 1 redeliveries in bounded memory.
 * A Set keeps insertion order, so the oldest key is the first one.
 */
export class RecentKeys {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** True when `key` was already seen; otherwise remembers it. */
  seen(key: string): boolean {
    if (this.keys.has(key)) return true;
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return false;
  }

  get size(): number {
    return this.keys.size;
  }
}
