import type { NewPrincipalRevocation, PrincipalRevocation, RevocationLookup } from './revocation.ts';

/**
 * The kinds of bound state mcp-warden guards: the sessions and state handles it mints,
 * and the MCP tasks and state handles an upstream mints and it binds (docs/sessions.md).
 */
export type SessionKind = MintedKind | 'task' | 'upstream-handle';

/** The kinds this service mints ids for (`mws_`, `mwh_`); a task id is the upstream's. */
export type MintedKind = 'mcp-session' | 'state-handle';

/** Who a session belongs to; compared with the verified principal on every use. */
export interface SessionOwner {
  readonly iss: string;
  readonly sub: string;
  readonly client_id: string | null;
  readonly spiffe_id: string | null;
  /**
   * The actor chain it was created through (most recent actor first), empty when the
   * subject acted itself; absent in records written before chains were kept, which is
   * read as empty.
   */
  readonly actor?: readonly ActorRef[];
}

/** One actor of an owner's chain: who it is, not how it proved it. */
export interface ActorRef {
  readonly iss: string;
  readonly sub: string;
  readonly client_id: string | null;
  readonly spiffe_id: string | null;
}

/** Everything kept per session, and nothing more. Times are epoch milliseconds. */
export interface SessionRecord {
  readonly id_hash: string;
  readonly kind: SessionKind;
  readonly owner: SessionOwner;
  /** The caller (PEP) that created it. */
  readonly created_by: string;
  readonly server: string;
  /**
   * The `id_hash` of the session the state was bound in, or null: state outlives no
   * parent, so a use is refused once the parent is revoked or expired.
   */
  readonly parent: string | null;
  readonly scope: readonly string[];
  readonly context: Readonly<Record<string, unknown>>;
  readonly created_at: number;
  readonly last_seen_at: number;
  readonly idle_expires_at: number;
  readonly expires_at: number;
  readonly revoked_at: number | null;
  readonly version: number;
}

/** Which sessions a bulk operation targets; every given field must match. */
export interface SessionFilter {
  /** The owner's issuer; only ever given with `sub` (a subject is unique per issuer). */
  readonly iss?: string | undefined;
  readonly sub?: string | undefined;
  readonly client_id?: string | undefined;
  readonly server?: string | undefined;
}

/**
 * Storage of principal revocations (see `revocation.ts`), beside the sessions. Rules are
 * never stored in a process only: with Redis every replica reads the same ones.
 */
export interface PrincipalRevocationStore {
  /**
   * Records a rule, kept until its `revoked_at` plus the store's retention. A live rule
   * under the same key with a later `revoked_at` is kept instead (the later one covers
   * more); returns the rule in force.
   */
  revokePrincipal(rule: NewPrincipalRevocation): Promise<PrincipalRevocation>;
  /**
   * The first live rule that covers the principal `lookup` describes, or undefined. On the
   * path of every decision: one round trip to a shared store, O(1) in memory.
   */
  principalRevocation(lookup: RevocationLookup, now: number): Promise<PrincipalRevocation | undefined>;
  /** Rules live at `now`, oldest first, at most `limit`. */
  listRevocations(now: number, limit: number): Promise<PrincipalRevocation[]>;
}

/**
 * Storage of session records, keyed by `sha256(id)`; ids never reach a store. Every
 * update is atomic against every other: none of them ever clears `revoked_at`, and
 * none changes a record that is revoked or expired at `now` (except `revoke`).
 * A store that cannot answer rejects with `session_store_unavailable`.
 */
export interface SessionStore extends PrincipalRevocationStore {
  /**
   * Stores a new record; rejects if the hash exists, and with `session_limit_reached`
   * when the store was given a per-owner limit and the owner (iss, sub) already holds that
   * many live records at the record's `created_at` (checked and inserted atomically).
   */
  insert(record: SessionRecord): Promise<void>;
  get(idHash: string): Promise<SessionRecord | undefined>;
  /**
   * Records activity: moves `last_seen_at` and `idle_expires_at` forward, unless the
   * record is revoked or expired at `now` (a touch never resurrects a session).
   */
  touch(idHash: string, now: number): Promise<SessionRecord | undefined>;
  /**
   * Adds tools to the scope of a live record (union, sorted); a revoked or expired
   * record is returned unchanged. Returns undefined when unknown.
   */
  addScope(idHash: string, tools: readonly string[], now: number): Promise<SessionRecord | undefined>;
  /** Marks revoked; returns the record, or undefined when unknown. Idempotent. */
  revoke(idHash: string, now: number): Promise<SessionRecord | undefined>;
  /** Revokes every live record matching `filter`; returns the records it revoked. */
  revokeWhere(filter: SessionFilter, now: number): Promise<SessionRecord[]>;
  /** Records matching `filter` (live or retained), at most `limit`, oldest first. */
  list(filter: SessionFilter, limit: number): Promise<SessionRecord[]>;
  /**
   * Drops records dead (expired or revoked) for longer than the retention, and principal
   * revocations past their expiry; returns how many session records it dropped.
   */
  sweep(now: number): Promise<number>;
  /**
   * How many records are live at `now`, for the `sessions_live` gauge; cheap enough to call
   * on every scrape. A shared store may answer an upper bound (see its docs).
   */
  countLive(now: number): Promise<number>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Whether the store can answer now, for `/health`. */
  status(): 'OK' | 'ERROR';
}

/** Whether a record matches every field the filter gives. */
export function matches(record: SessionRecord, filter: SessionFilter): boolean {
  return ownerMatches(record.owner, filter) && (filter.server === undefined || record.server === filter.server);
}

/** Whether an owner (of a session, or of any other record) matches the owner fields the filter gives. */
export function ownerMatches(owner: SessionOwner, filter: SessionFilter): boolean {
  return (
    (filter.iss === undefined || owner.iss === filter.iss) &&
    (filter.sub === undefined || owner.sub === filter.sub) &&
    (filter.client_id === undefined || owner.client_id === filter.client_id)
  );
}

/** The owner key a per-principal limit counts under: issuer and subject. */
export function ownerKey(owner: SessionOwner): string {
  return JSON.stringify([owner.iss, owner.sub]);
}

/** True when `record` is past its idle or absolute expiry at `now`. */
export function isExpired(record: SessionRecord, now: number): boolean {
  return now >= record.expires_at || now >= record.idle_expires_at;
}
