/** The kinds of session state mcp-warden guards. */
export type SessionKind = 'mcp-session' | 'state-handle';

/** Who a session belongs to; compared with the verified principal on every use. */
export interface SessionOwner {
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
  readonly scope: readonly string[];
  readonly context: Readonly<Record<string, unknown>>;
  readonly created_at: number;
  readonly last_seen_at: number;
  readonly idle_expires_at: number;
  readonly expires_at: number;
  readonly revoked_at: number | null;
  readonly version: number;
}

/** Storage of session records, keyed by `sha256(id)`; ids never reach a store. */
export interface SessionStore {
  /** Stores a new record; rejects if the hash exists. */
  insert(record: SessionRecord): Promise<void>;
  get(idHash: string): Promise<SessionRecord | undefined>;
  /**
   * Records activity: moves `last_seen_at` and `idle_expires_at` forward, unless the
   * record is revoked or expired at `now` (a touch never resurrects a session).
   */
  touch(idHash: string, now: number): Promise<SessionRecord | undefined>;
  /** Marks revoked; returns the record, or undefined when unknown. Idempotent. */
  revoke(idHash: string, now: number): Promise<SessionRecord | undefined>;
  /** Drops records dead (expired or revoked) for longer than the retention; returns how many. */
  sweep(now: number): Promise<number>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** True when `record` is past its idle or absolute expiry at `now`. */
export function isExpired(record: SessionRecord, now: number): boolean {
  return now >= record.expires_at || now >= record.idle_expires_at;
}
