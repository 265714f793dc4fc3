import { hash } from 'node:crypto';
import type { Principal } from '../identity/principal.ts';

/** When a principal counts as shared (`identity.shared_accounts`): distinct uses within a window. */
export interface SharedUseConfig {
  readonly window_seconds: number;
  /** Distinct `client_id`s at which a principal is shared; 0: not counted. */
  readonly clients: number;
  /** Distinct agent workloads (SPIFFE IDs in the actor chain); 0: not counted. */
  readonly workloads: number;
  /** Distinct actor chains (acting itself is one); 0: not counted. */
  readonly chains: number;
  /** Principals tracked at once in memory; the least recently seen is forgotten first. */
  readonly max_principals: number;
}

/**
 * Notices one principal (issuer and subject) used from many clients, agent workloads or
 * actor chains within a window: a shared service account, or one token driving many
 * agents (docs/identity.md, "Shared accounts"). A value not seen for `window_seconds` no
 * longer counts; a dimension keeps at most its threshold of values (the least recently
 * seen goes first). A store that cannot answer rejects with `session_store_unavailable`.
 */
export interface SharedUseTracker {
  /** Records one use of `principal` at `now` (epoch ms), and says how shared it is. */
  observe(principal: Principal, now: number): Promise<SharedUse>;
  start(): Promise<void>;
  stop(): Promise<void>;
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

export type Dimension = 'clients' | 'workloads' | 'chains';
export const DIMENSIONS: readonly Dimension[] = ['clients', 'workloads', 'chains'];

/** The counts of a use, as the policy input (`principal.usage`) and audit records show them. */
export function usageOf(use: SharedUse): Record<string, number> {
  return { clients: use.clients, workloads: use.workloads, chains: use.chains, window_seconds: use.window_seconds };
}

/** What one use of a principal names, per dimension, each value as a short fixed-size digest. */
export function valuesOf(principal: Principal): Record<Dimension, string[]> {
  const chain = principal.actor.map((a) => [a.iss, a.sub, a.client_id, a.spiffe_id]);
  return {
    clients: principal.client_id === null ? [] : [digest(principal.client_id)],
    workloads: principal.actor.flatMap((a) => (a.spiffe_id === null ? [] : [digest(a.spiffe_id)])),
    chains: [digest(JSON.stringify(chain))],
  };
}

/** The key one principal's uses are counted under. */
export function principalKey(principal: Principal): string {
  return hash('sha256', JSON.stringify([principal.iss, principal.sub]), 'base64url');
}

function digest(value: string): string {
  return hash('sha256', value, 'base64url').slice(0, 22);
}
