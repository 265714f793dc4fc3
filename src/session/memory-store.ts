import { SessionLimitReached } from '../errors.ts';
import { SharedValues } from './shared-values.ts';
import { isExpired, matches, ownerKey, type SessionFilter, type SessionRecord, type SessionStore } from './record.ts';
import {
  DEFAULT_REVOCATION_RETAIN_MS,
  firstApplicable,
  revocationKey,
  type NewPrincipalRevocation,
  type PrincipalRevocation,
  type RevocationLookup,
} from './revocation.ts';

/** The embedded default store: one process, records in a Map, expired ones swept. */
export class MemorySessionStore implements SessionStore {
  readonly #records = new Map<string, SessionRecord>();
  readonly #shared = new SharedValues();
  /** Id hashes by owner key, for the per-owner limit; dead ones are pruned as they are met. */
  readonly #byOwner = new Map<string, Set<string>>();
  /** Principal revocations by their key: a lookup is a few Map reads, whatever their number. */
  readonly #revocations = new Map<string, PrincipalRevocation>();
  readonly #revocationRetainMs: number;
  readonly #maxPerOwner: number;
  readonly #sweepMs: number;
  readonly #retainMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  /**
   * `retainMs`: how long a dead (expired or revoked) record is kept, so that using it
   * is answered `session_expired` / `session_revoked` rather than `session_unknown`.
   * `maxPerOwner`: live records one owner (iss, sub) may hold; 0 or absent for no limit.
   * `revocationRetainMs`: how long a principal revocation is kept (24 h when absent).
   */
  constructor(options: {
    sweepIntervalMs: number;
    retainMs: number;
    maxPerOwner?: number;
    revocationRetainMs?: number;
    now?: () => number;
  }) {
    this.#maxPerOwner = options.maxPerOwner ?? 0;
    this.#revocationRetainMs = options.revocationRetainMs ?? DEFAULT_REVOCATION_RETAIN_MS;
    this.#sweepMs = options.sweepIntervalMs;
    this.#retainMs = options.retainMs;
    this.#now = options.now ?? Date.now;
  }

  async insert(record: SessionRecord): Promise<void> {
    if (this.#records.has(record.id_hash)) throw new Error('session id collision');
    const key = ownerKey(record.owner);
    let owned = this.#byOwner.get(key);
    if (owned === undefined) {
      owned = new Set();
      this.#byOwner.set(key, owned);
    }
    if (this.#maxPerOwner > 0 && this.#liveOf(owned, record.created_at) >= this.#maxPerOwner) {
      throw new SessionLimitReached(`the principal already holds ${this.#maxPerOwner} live sessions`);
    }
    this.#records.set(record.id_hash, this.#shared.compact(record));
    owned.add(record.id_hash);
  }

  async countLive(now: number): Promise<number> {
    let live = 0;
    for (const record of this.#records.values()) if (record.revoked_at === null && !isExpired(record, now)) live += 1;
    return live;
  }

  /** Live records in `owned` at `now`; a dead one never lives again, so it leaves the set. */
  #liveOf(owned: Set<string>, now: number): number {
    let live = 0;
    for (const hash of owned) {
      const record = this.#records.get(hash);
      if (record !== undefined && record.revoked_at === null && !isExpired(record, now)) live += 1;
      else owned.delete(hash);
    }
    return live;
  }

  async get(idHash: string): Promise<SessionRecord | undefined> {
    return this.#records.get(idHash);
  }

  async touch(idHash: string, now: number): Promise<SessionRecord | undefined> {
    const current = this.#records.get(idHash);
    if (current === undefined || current.revoked_at !== null || isExpired(current, now)) return current;
    // The idle window is not stored apart: it is the distance the last touch left.
    const idleMs = current.idle_expires_at - current.last_seen_at;
    const next = { ...current, last_seen_at: now, idle_expires_at: now + idleMs, version: current.version + 1 };
    this.#records.set(idHash, next);
    return next;
  }

  async addScope(idHash: string, tools: readonly string[], now: number): Promise<SessionRecord | undefined> {
    const current = this.#records.get(idHash);
    if (current === undefined || current.revoked_at !== null || isExpired(current, now)) return current;
    const scope = [...new Set([...current.scope, ...tools])].sort();
    const next = this.#shared.compact({ ...current, scope, version: current.version + 1 });
    this.#records.set(idHash, next);
    return next;
  }

  async revokeWhere(filter: SessionFilter, now: number): Promise<SessionRecord[]> {
    const revoked: SessionRecord[] = [];
    for (const record of this.#records.values()) {
      if (record.revoked_at !== null || isExpired(record, now) || !matches(record, filter)) continue;
      const next = { ...record, revoked_at: now, version: record.version + 1 };
      this.#records.set(record.id_hash, next);
      revoked.push(next);
    }
    return revoked;
  }

  async list(filter: SessionFilter, limit: number): Promise<SessionRecord[]> {
    const found: SessionRecord[] = [];
    for (const record of this.#records.values()) {
      if (found.length >= limit) break;
      if (matches(record, filter)) found.push(record);
    }
    return found;
  }

  async revoke(idHash: string, now: number): Promise<SessionRecord | undefined> {
    const current = this.#records.get(idHash);
    if (current === undefined || current.revoked_at !== null) return current;
    const next = { ...current, revoked_at: now, version: current.version + 1 };
    this.#records.set(idHash, next);
    return next;
  }

  async revokePrincipal(rule: NewPrincipalRevocation): Promise<PrincipalRevocation> {
    const key = revocationKey(rule);
    const kept = this.#revocations.get(key);
    if (kept !== undefined && kept.revoked_at >= rule.revoked_at && rule.revoked_at < kept.expires_at) return kept;
    const next = { ...rule, expires_at: rule.revoked_at + this.#revocationRetainMs };
    this.#revocations.set(key, next);
    return next;
  }

  async principalRevocation(lookup: RevocationLookup, now: number): Promise<PrincipalRevocation | undefined> {
    if (this.#revocations.size === 0) return undefined;
    return firstApplicable(
      lookup.keys.map((key) => this.#revocations.get(key)),
      lookup,
      now,
    );
  }

  async listRevocations(now: number, limit: number): Promise<PrincipalRevocation[]> {
    return [...this.#revocations.values()]
      .filter((rule) => now < rule.expires_at)
      .sort((a, b) => a.revoked_at - b.revoked_at)
      .slice(0, limit);
  }

  async sweep(now: number): Promise<number> {
    for (const [key, rule] of this.#revocations) if (now >= rule.expires_at) this.#revocations.delete(key);
    let dropped = 0;
    for (const [hash, record] of this.#records) {
      const deadAt = Math.min(record.expires_at, record.idle_expires_at, record.revoked_at ?? Infinity);
      if (now >= deadAt + this.#retainMs) {
        this.#records.delete(hash);
        const key = ownerKey(record.owner);
        const owned = this.#byOwner.get(key);
        owned?.delete(hash);
        if (owned?.size === 0) this.#byOwner.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }

  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.sweep(this.#now()), this.#sweepMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  status(): 'OK' {
    return 'OK';
  }

  get size(): number {
    return this.#records.size;
  }
}
