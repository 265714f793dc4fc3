import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SessionLimitReached } from '../errors.ts';
import { failClosedRedis, storeUnavailable } from './redis-connection.ts';
import { matches, ownerKey, type SessionFilter, type SessionRecord, type SessionStore } from './record.ts';
import { fromFields, fromReply, toFields } from './redis-codec.ts';
import {
  DEFAULT_REVOCATION_RETAIN_MS,
  firstApplicable,
  revocationKey,
  type NewPrincipalRevocation,
  type PrincipalRevocation,
  type RevocationLookup,
} from './revocation.ts';
import { defineSessionScripts, type SessionScripts } from './redis-scripts.ts';

/** Options of {@link RedisSessionStore}. */
export interface RedisSessionStoreOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  readonly url: string;
  /** Prefix of every key; a hash tag such as `{mcpw}:` keeps them in one Cluster slot. */
  readonly keyPrefix: string;
  /** Longest wait for one command before the store answers `session_store_unavailable`. */
  readonly commandTimeoutMs: number;
  /** How long a dead record is kept (see `MemorySessionStore`). */
  readonly retainMs: number;
  /** How often `sweep` drops index entries of records Redis has expired. */
  readonly sweepIntervalMs: number;
  /** Live records one owner (iss, sub) may hold; 0 or absent for no limit. */
  readonly maxPerOwner?: number;
  /** How long a principal revocation is kept (24 h when absent). */
  readonly revocationRetainMs?: number;
  readonly now?: () => number;
}

/** Index members read per round trip by `list`, `revokeWhere` and `sweep`. */
const CHUNK = 200;

/**
 * The shared store for several replicas: one Redis HASH per record under
 * `<prefix>s:<idHash>`, sorted-set indexes by subject, client and server (scored by
 * `created_at`, so `list` reads oldest first), and every mutation one Lua script (see
 * `redis-scripts.ts`). Expiry is always computed from the stored timestamps; the Redis
 * TTL only removes a record `retainMs` after it died.
 *
 * Fails closed: no offline queue, a command timeout, no resending of unanswered commands,
 * and every Redis error becomes `session_store_unavailable`. ioredis keeps reconnecting
 * in the background, so the same instance recovers when Redis comes back.
 */
export class RedisSessionStore implements SessionStore {
  readonly #redis: Redis;
  readonly #scripts: SessionScripts;
  readonly #prefix: string;
  readonly #retainMs: number;
  readonly #sweepMs: number;
  readonly #maxPerOwner: number;
  readonly #revocationRetainMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RedisSessionStoreOptions) {
    if (!(options.retainMs >= 0) || !(options.commandTimeoutMs > 0)) {
      throw new TypeError('retainMs must be ≥ 0 and commandTimeoutMs > 0');
    }
    this.#prefix = options.keyPrefix;
    this.#retainMs = options.retainMs;
    this.#sweepMs = options.sweepIntervalMs;
    this.#maxPerOwner = options.maxPerOwner ?? 0;
    this.#revocationRetainMs = options.revocationRetainMs ?? DEFAULT_REVOCATION_RETAIN_MS;
    this.#now = options.now ?? Date.now;
    this.#redis = failClosedRedis(options.url, options.commandTimeoutMs);
    defineSessionScripts(this.#redis);
    this.#scripts = this.#redis as unknown as SessionScripts;
  }

  /**
   * `OK` while the connection is ready for commands, else `ERROR`. A server that hangs
   * with its socket open still reads `OK`: its commands fail by the command timeout.
   */
  status(): 'OK' | 'ERROR' {
    return this.#redis.status === 'ready' ? 'OK' : 'ERROR';
  }

  async insert(record: SessionRecord): Promise<void> {
    const keys = [
      this.#recordKey(record.id_hash),
      this.#goneKey(),
      this.#ownerIndexKey(ownerHash(record)),
      ...this.#indexKeys(record),
    ];
    // The record's own clock, not ours: it is what its expiry times are measured on.
    const since = Math.max(record.created_at, record.last_seen_at);
    const deadAt = Math.min(record.expires_at, record.idle_expires_at, record.revoked_at ?? Infinity);
    const pttl = Math.max(1, deadAt + this.#retainMs - since);
    const args = [
      pttl,
      record.created_at,
      // Index entries outlive no record past its absolute expiry plus the retention.
      record.expires_at + this.#retainMs,
      goneMember(record),
      record.id_hash,
      record.expires_at,
      this.#maxPerOwner,
      this.#recordKey(''),
      ...toFields(record),
    ];
    const inserted = await this.#call(() => this.#scripts.mcpwInsert(keys.length, ...keys, ...args));
    if (inserted === 0) throw new Error('session id collision');
    if (inserted === -1)
      throw new SessionLimitReached(`the principal already holds ${this.#maxPerOwner} live sessions`);
  }

  /**
   * An upper bound, in one command: records whose absolute expiry is still ahead (from
   * the `gone` set, scored by that expiry plus the retention), so revoked and idle-expired
   * records count until their absolute expiry. It is the count of the whole shared store,
   * the same on every replica.
   */
  async countLive(now: number): Promise<number> {
    return this.#call(() => this.#redis.zcount(this.#goneKey(), `(${now + this.#retainMs}`, '+inf'));
  }

  async get(idHash: string): Promise<SessionRecord | undefined> {
    return fromFields(await this.#call(() => this.#redis.hgetall(this.#recordKey(idHash))));
  }

  async touch(idHash: string, now: number): Promise<SessionRecord | undefined> {
    return fromReply(await this.#call(() => this.#scripts.mcpwTouch(this.#recordKey(idHash), now, this.#retainMs)));
  }

  async addScope(idHash: string, tools: readonly string[], now: number): Promise<SessionRecord | undefined> {
    return fromReply(await this.#call(() => this.#scripts.mcpwAddScope(this.#recordKey(idHash), now, ...tools)));
  }

  async revoke(idHash: string, now: number): Promise<SessionRecord | undefined> {
    return fromReply(await this.#call(() => this.#scripts.mcpwRevoke(this.#recordKey(idHash), now, this.#retainMs)));
  }

  async revokeWhere(filter: SessionFilter, now: number): Promise<SessionRecord[]> {
    const index = this.#indexFor(filter);
    const wanted = JSON.stringify({
      iss: filter.iss,
      sub: filter.sub,
      client_id: filter.client_id,
      server: filter.server,
    });
    const revoked: SessionRecord[] = [];
    // ZSCAN, not ranges by rank: it returns every member present throughout the scan
    // even while other replicas remove stale ones, so no live record is skipped.
    let cursor = '0';
    do {
      const [next, flat] = await this.#call(() => this.#redis.zscan(index, cursor, 'COUNT', CHUNK));
      cursor = next;
      const members = flat.filter((_, i) => i % 2 === 0);
      const replies = await this.#call(() =>
        Promise.all(
          members.map((m) => this.#scripts.mcpwRevokeLive(this.#recordKey(m), index, now, this.#retainMs, m, wanted)),
        ),
      );
      for (const reply of replies) if (Array.isArray(reply)) revoked.push(fromReply(reply)!);
    } while (cursor !== '0');
    return revoked;
  }

  async list(filter: SessionFilter, limit: number): Promise<SessionRecord[]> {
    const index = this.#indexFor(filter);
    const found: SessionRecord[] = [];
    let offset = 0;
    // By rank, oldest first: a stale entry another replica drops meanwhile can shift a
    // record out of this view, which is acceptable for a listing (revokeWhere scans).
    while (found.length < limit) {
      const members = await this.#call(() => this.#redis.zrange(index, String(offset), String(offset + CHUNK - 1)));
      const records = await this.#call(() => Promise.all(members.map((m) => this.#redis.hgetall(this.#recordKey(m)))));
      const stale: string[] = [];
      records.forEach((fields, i) => {
        const record = fromFields(fields);
        if (record === undefined) stale.push(members[i]!);
        else if (found.length < limit && matches(record, filter)) found.push(record);
      });
      if (stale.length > 0) await this.#call(() => this.#redis.zrem(index, ...stale));
      if (members.length < CHUNK) break;
      offset += members.length - stale.length;
    }
    return found;
  }

  /**
   * One string per rule under `<prefix>r:<key>`, with a TTL of the retention, and an index
   * `<prefix>ri:all` scored by expiry for listing. One script: the later of two racing
   * revocations of the same key is the one kept, whichever replica wrote last.
   */
  async revokePrincipal(rule: NewPrincipalRevocation): Promise<PrincipalRevocation> {
    const key = revocationKey(rule);
    const next: PrincipalRevocation = { ...rule, expires_at: rule.revoked_at + this.#revocationRetainMs };
    const json = await this.#call(() =>
      this.#scripts.mcpwRevokePrincipal(
        this.#revocationKey(key),
        this.#revocationIndexKey(),
        JSON.stringify(next),
        next.revoked_at,
        Math.max(1, this.#revocationRetainMs),
        next.expires_at,
        key,
      ),
    );
    return JSON.parse(json) as PrincipalRevocation;
  }

  /** One MGET of every key the principal can be revoked under: one round trip, whatever the number of rules. */
  async principalRevocation(lookup: RevocationLookup, now: number): Promise<PrincipalRevocation | undefined> {
    const values = await this.#call(() => this.#redis.mget(...lookup.keys.map((key) => this.#revocationKey(key))));
    return firstApplicable(
      values.map((value) => (value === null ? undefined : (JSON.parse(value) as PrincipalRevocation))),
      lookup,
      now,
    );
  }

  async listRevocations(now: number, limit: number): Promise<PrincipalRevocation[]> {
    const members = await this.#call(() =>
      this.#redis.zrangebyscore(this.#revocationIndexKey(), `(${now}`, '+inf', 'LIMIT', 0, limit),
    );
    if (members.length === 0) return [];
    const values = await this.#call(() => this.#redis.mget(...members.map((key) => this.#revocationKey(key))));
    return values
      .flatMap((value) => (value === null ? [] : [JSON.parse(value) as PrincipalRevocation]))
      .filter((rule) => now < rule.expires_at)
      .sort((a, b) => a.revoked_at - b.revoked_at);
  }

  /**
   * Redis drops the records themselves (their TTL); this drops the index entries of
   * records past their absolute expiry plus the retention, found through one sorted set
   * (`<prefix>gone`) scored by that time, so the cost is the number of dead records, not
   * of all records. Returns how many records it cleaned up after.
   */
  async sweep(now: number): Promise<number> {
    // Rules drop by their TTL; their index entries go here.
    await this.#call(() => this.#redis.zremrangebyscore(this.#revocationIndexKey(), '-inf', now));
    const gone = this.#goneKey();
    let cleaned = 0;
    for (;;) {
      const members = await this.#call(() => this.#redis.zrangebyscore(gone, '-inf', now, 'LIMIT', 0, CHUNK));
      const entries = members.map((member) => ({ member, entry: JSON.parse(member) as GoneEntry }));
      const exists = await this.#call(() =>
        Promise.all(entries.map(({ entry }) => this.#redis.exists(this.#recordKey(entry[0])))),
      );
      // A record still there (clocks apart) waits for a later sweep.
      const dead = entries.filter((_, i) => exists[i] === 0);
      if (dead.length === 0) return cleaned;
      const tx = this.#redis.multi();
      for (const { member, entry } of dead) {
        for (const key of this.#indexKeysOf(entry)) tx.zrem(key, entry[0]);
        tx.zrem(gone, member);
      }
      await this.#call(() => tx.exec());
      cleaned += dead.length;
      if (members.length < CHUNK) return cleaned;
    }
  }

  /** Connects; rejects with `session_store_unavailable` (and stays stopped) when Redis cannot be reached. */
  async start(): Promise<void> {
    try {
      await this.#redis.connect();
    } catch (err) {
      this.#redis.disconnect();
      throw storeUnavailable(err, 'session store');
    }
    this.#timer = setInterval(() => void this.sweep(this.#now()).catch(() => {}), this.#sweepMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#redis.status === 'ready') await this.#redis.quit().catch(() => {});
    this.#redis.disconnect();
  }

  #recordKey(idHash: string): string {
    return `${this.#prefix}s:${idHash}`;
  }

  #revocationKey(key: string): string {
    return `${this.#prefix}r:${key}`;
  }

  #revocationIndexKey(): string {
    return `${this.#prefix}ri:all`;
  }

  #goneKey(): string {
    return `${this.#prefix}gone`;
  }

  #indexKeys(record: SessionRecord): string[] {
    return this.#indexKeysOf([record.id_hash, record.owner.sub, record.owner.client_id, record.server]);
  }

  #indexKeysOf([, sub, clientId, server, owner]: GoneEntry): string[] {
    const keys = [`${this.#prefix}i:all`, `${this.#prefix}i:sub:${sub}`, `${this.#prefix}i:server:${server}`];
    if (clientId !== null) keys.push(`${this.#prefix}i:client:${clientId}`);
    // Entries written before the owner index existed have no owner hash.
    if (owner !== undefined) keys.push(this.#ownerIndexKey(owner));
    return keys;
  }

  /** The owner's records for the per-owner limit, scored by absolute expiry; by hash (issuers are URLs). */
  #ownerIndexKey(ownerHashHex: string): string {
    return `${this.#prefix}i:owner:${ownerHashHex}`;
  }

  /** The smallest index that holds every match: the filter's first field, or all records. */
  #indexFor(filter: SessionFilter): string {
    if (filter.sub !== undefined) return `${this.#prefix}i:sub:${filter.sub}`;
    if (filter.client_id !== undefined) return `${this.#prefix}i:client:${filter.client_id}`;
    if (filter.server !== undefined) return `${this.#prefix}i:server:${filter.server}`;
    return `${this.#prefix}i:all`;
  }

  async #call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw storeUnavailable(err, 'session store');
    }
  }
}

/** What `sweep` needs of a record once Redis has dropped it: its id hash and index fields. */
type GoneEntry = [idHash: string, sub: string, clientId: string | null, server: string, ownerHash?: string];

function goneMember(record: SessionRecord): string {
  const entry: GoneEntry = [record.id_hash, record.owner.sub, record.owner.client_id, record.server, ownerHash(record)];
  return JSON.stringify(entry);
}

function ownerHash(record: SessionRecord): string {
  return hash('sha256', ownerKey(record.owner), 'hex');
}
