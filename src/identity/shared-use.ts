import type { Principal } from './principal.ts';

/** When a principal counts as shared (`identity.shared_accounts`): distinct uses within a window. */
export interface SharedUseConfig {
  readonly window_seconds: number;
  /** Distinct `client_id`s at which a principal is shared; 0: not counted. */
  readonly clients: number;
  /** Distinct agent workloads (SPIFFE IDs in the actor chain); 0: not counted. */
  readonly workloads: number;
  /** Distinct actor chains (acting itself is one); 0: not counted. */
  readonly chains: number;
  /** Principals tracked at once; the least recently seen is forgotten first. */
  readonly max_principals: number;
}

/** How one principal was used within the window; each count stops at its threshold. */
export interface SharedUse {
  readonly shared: boolean;
  readonly clients: number;
  readonly workloads: number;
  readonly chains: number;
  readonly window_seconds: number;
  /** True on the use that made the principal shared (it was not a moment before). */
  readonly became_shared: boolean;
}

type Dimension = 'clients' | 'workloads' | 'chains';
const DIMENSIONS: readonly Dimension[] = ['clients', 'workloads', 'chains'];

/** One principal's distinct values per dimension, each with the time it was last seen. */
interface Seen {
  readonly values: Record<Dimension, Map<string, number>>;
  shared: boolean;
}

/**
 * Notices one principal (issuer and subject) used from many clients, agent workloads or
 * actor chains: a shared service account, or one token driving many agents. Each use
 * names its values; a value not seen for `window_seconds` no longer counts. Memory is
 * bounded: a dimension keeps at most its threshold of values (the least recently seen
 * goes first), and at most `max_principals` principals are tracked. Counts are per
 * process: with several replicas, each sees the uses it decides.
 */
export class SharedUseTracker {
  readonly #config: SharedUseConfig;
  readonly #principals = new Map<string, Seen>();

  constructor(config: SharedUseConfig) {
    this.#config = config;
  }

  /** Records one use of `principal` at `now` (epoch ms), and says how shared it is. */
  observe(principal: Principal, now: number): SharedUse {
    const key = JSON.stringify([principal.iss, principal.sub]);
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
}

/** The counts of a use, as the policy input (`principal.usage`) and audit records show them. */
export function usageOf(use: SharedUse): Record<string, number> {
  return { clients: use.clients, workloads: use.workloads, chains: use.chains, window_seconds: use.window_seconds };
}

/** What one use of a principal names, per dimension. */
function valuesOf(principal: Principal): Record<Dimension, string[]> {
  const chain = principal.actor.map((a) => [a.iss, a.sub, a.client_id, a.spiffe_id]);
  return {
    clients: principal.client_id === null ? [] : [principal.client_id],
    workloads: principal.actor.flatMap((a) => (a.spiffe_id === null ? [] : [a.spiffe_id])),
    chains: [JSON.stringify(chain)],
  };
}
