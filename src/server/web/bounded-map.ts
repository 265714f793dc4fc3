/**
 * A map of short-lived entries, bounded in size: an entry past its expiry reads as absent
 * and is dropped; when full, the oldest entry makes room. Per process: a sign-in must
 * come back to the process that started it.
 */
export class BoundedMap<V> {
  readonly #entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();

  readonly maxSize: number;
  readonly ttlMs: number;
  readonly #clock: () => number;

  constructor(maxSize: number, ttlMs: number, clock: () => number = Date.now) {
    this.maxSize = maxSize;
    this.ttlMs = ttlMs;
    this.#clock = clock;
  }

  /** Stores `value` until now + `ttlMs` (or the earlier `expiresAt`). */
  set(key: string, value: V, expiresAt?: number): void {
    const now = this.#clock();
    for (const [k, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(k);
    this.#entries.delete(key);
    while (this.#entries.size >= this.maxSize) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, expiresAt: Math.min(expiresAt ?? Infinity, now + this.ttlMs) });
  }

  get(key: string | undefined): V | undefined {
    if (key === undefined) return undefined;
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#clock()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** The entry, removed: for what may be used once. */
  take(key: string | undefined): V | undefined {
    const value = this.get(key);
    if (key !== undefined) this.#entries.delete(key);
    return value;
  }

  delete(key: string | undefined): void {
    if (key !== undefined) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
