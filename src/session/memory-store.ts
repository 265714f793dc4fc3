import { isExpired, matches, type SessionFilter, type SessionRecord, type SessionStore } from './record.ts';

/** The embedded default store: one process, records in a Map, expired ones swept. */
export class MemorySessionStore implements SessionStore {
  readonly #records = new Map<string, SessionRecord>();
  readonly #sweepMs: number;
  readonly #retainMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  /**
   * `retainMs`: how long a dead (expired or revoked) record is kept, so that using it
   * is answered `session_expired` / `session_revoked` rather than `session_unknown`.
   */
  constructor(options: { sweepIntervalMs: number; retainMs: number; now?: () => number }) {
    this.#sweepMs = options.sweepIntervalMs;
    this.#retainMs = options.retainMs;
    this.#now = options.now ?? Date.now;
  }

  async insert(record: SessionRecord): Promise<void> {
    if (this.#records.has(record.id_hash)) throw new Error('session id collision');
    this.#records.set(record.id_hash, record);
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
    const next = { ...current, scope, version: current.version + 1 };
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

  async sweep(now: number): Promise<number> {
    let dropped = 0;
    for (const [hash, record] of this.#records) {
      const deadAt = Math.min(record.expires_at, record.idle_expires_at, record.revoked_at ?? Infinity);
      if (now >= deadAt + this.#retainMs) {
        this.#records.delete(hash);
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
