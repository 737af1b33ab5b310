/** A small bounded map that forgets the least recently used entry. For immutable id links only. */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  /** The key last put at the end of the order (by `set` or a hit): a hit on it needs no move (issue 8). */
  private newest: K | undefined;
  private hasNewest = false;

  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    // already the most recently used: moving it would not change the order
    if (this.hasNewest && key === this.newest) return v;
    this.map.delete(key);
    this.map.set(key, v);
    this.newest = key;
    this.hasNewest = true;
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    this.newest = key;
    this.hasNewest = true;
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * The links between a CRM customer id and a TMO merchant id. Both sides are assigned once and
 * never change (TMO keeps CRM_REF, CRM keeps the external ref), so caching them is safe and
 * saves one legacy call on the hot read paths.
 */
export class MerchantLinks {
  private readonly toMid: LruMap<string, string>;
  private readonly toCust: LruMap<string, string>;

  constructor(max = 100_000) {
    this.toMid = new LruMap(max);
    this.toCust = new LruMap(max);
  }

  remember(customerId: string, tmoMerchantId: string): void {
    this.toMid.set(customerId, tmoMerchantId);
    this.toCust.set(tmoMerchantId, customerId);
  }

  tmoMerchantIdOf(customerId: string): string | undefined {
    return this.toMid.get(customerId);
  }

  customerIdOf(tmoMerchantId: string): string | undefined {
    return this.toCust.get(tmoMerchantId);
  }
}
