import type { JWTPayload } from 'jose';
import type { KeySource } from './key-source.ts';
import type { Principal } from './principal.ts';

/** A verified token's outcome, kept until its `exp`. */
export interface CachedToken {
  readonly payload: JWTPayload;
  readonly principal: Principal;
  /** The key that verified the token, to drop the entry once it is rotated out. */
  readonly keys: KeySource;
  readonly kid: string | undefined;
  /** The servers its issuer is trusted for (null: any), re-checked on every hit. */
  readonly servers: ReadonlySet<string> | null;
  /** Epoch seconds after which the entry is dead (exp + tolerance). */
  readonly deadline: number;
}

/**
 * A bounded LRU of verified tokens, keyed by the token's sha256 (the token itself is
 * never kept). A Map keeps insertion order, so re-inserting on a hit makes it an LRU.
 */
export class TokenCache {
  readonly #max: number;
  readonly #entries = new Map<string, CachedToken>();

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string, nowSeconds: number): CachedToken | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    this.#entries.delete(key);
    if (hit.deadline <= nowSeconds) return undefined;
    this.#entries.set(key, hit);
    return hit;
  }

  set(key: string, entry: CachedToken): void {
    if (this.#max === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
