import type { Principal } from '../identity/principal.ts';
import {
  DIMENSIONS,
  principalKey,
  valuesOf,
  type Dimension,
  type SharedUse,
  type SharedUseConfig,
  type SharedUseTracker,
} from './tracker.ts';

/** One principal's distinct values per dimension, each with the time it was last seen. */
interface Seen {
  readonly values: Record<Dimension, Map<string, number>>;
  shared: boolean;
}

/**
 * The shared-use counts of this process: at most `max_principals` principals, the least
 * recently seen forgotten first. With several replicas, each counts only the uses it
 * decides: use the Redis tracker there.
 */
export class MemorySharedUse implements SharedUseTracker {
  readonly #config: SharedUseConfig;
  readonly #principals = new Map<string, Seen>();

  constructor(config: SharedUseConfig) {
    this.#config = config;
  }

  async observe(principal: Principal, now: number): Promise<SharedUse> {
    const key = principalKey(principal);
    const seen = this.#principals.get(key) ?? {
      values: { clients: new Map(), workloads: new Map(), chains: new Map() },
      shared: false,
    };
    // Re-inserted: the map's order is least recently seen first.
    this.#principals.delete(key);
    this.#principals.set(key, seen);
    if (this.#principals.size > this.#config.max_principals) {
      this.#principals.delete(this.#principals.keys().next().value!);
    }
    const since = now - this.#config.window_seconds * 1000;
    const used = valuesOf(principal);
    const counts = {} as Record<Dimension, number>;
    for (const dimension of DIMENSIONS) {
      const threshold = this.#config[dimension];
      const values = seen.values[dimension];
      for (const [value, at] of values) if (at <= since) values.delete(value);
      for (const value of threshold === 0 ? [] : used[dimension]) {
        values.delete(value);
        values.set(value, now);
        if (values.size > threshold) values.delete(values.keys().next().value!);
      }
      counts[dimension] = values.size;
    }
    const shared = DIMENSIONS.some((d) => this.#config[d] > 0 && counts[d] >= this.#config[d]);
    const became = shared && !seen.shared;
    seen.shared = shared;
    return { shared, ...counts, window_seconds: this.#config.window_seconds, became_shared: became };
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
