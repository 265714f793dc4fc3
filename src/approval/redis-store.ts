import type { Redis } from 'ioredis';
import { failClosedRedis, storeUnavailable } from '../session/redis-connection.ts';
import {
  stateAt,
  type ApprovalChange,
  type ApprovalQuery,
  type ApprovalRecord,
  type ApprovalState,
  type ApprovalStore,
  type ApprovalTransition,
} from './record.ts';
import { defineApprovalScripts, type ApprovalScripts } from './redis-scripts.ts';

/** Options of {@link RedisApprovalStore}: the session store's Redis, and the retention of `MemoryApprovalStore`. */
export interface RedisApprovalStoreOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  readonly url: string;
  /** Prefix of every key; a hash tag such as `{mcpw}:` keeps them in one Cluster slot. */
  readonly keyPrefix: string;
  /** Longest wait for one command before the store answers `session_store_unavailable`. */
  readonly commandTimeoutMs: number;
  /** The grant cap: a record lives that long past its request… */
  readonly maxGrantMs: number;
  /** …and is kept that long after. */
  readonly retainMs: number;
}

/** Index members read per round trip by `list` and `sweep`. */
const CHUNK = 200;

/**
 * The shared store for several replicas, beside the sessions in the same Redis:
 *
 * - `<prefix>a:<idHash>`: the record, a HASH (see {@link toFields});
 * - `<prefix>ab:<binding>`: the id hash of the record the binding names;
 * - `<prefix>ai`: every record, a sorted set scored by `created_at`, for `list`;
 * - `<prefix>ad`: every record, scored by `droppableAt`, for `sweep`.
 *
 * Every read-then-write is one Lua script (`redis-scripts.ts`). States and expiry are
 * always computed from the stored times at the `now` a call is given; the Redis TTL
 * (`droppableAt - now`, on the record and its pointer) only cleans up after a sweep that
 * did not run.
 *
 * Fails closed as the session store does: no offline queue, a command timeout, no
 * resending of unanswered commands, and every Redis error becomes
 * `session_store_unavailable`. ioredis keeps reconnecting in the background.
 */
export class RedisApprovalStore implements ApprovalStore {
  readonly #redis: Redis;
  readonly #scripts: ApprovalScripts;
  readonly #prefix: string;
  readonly #maxGrantMs: number;
  readonly #retainMs: number;
  /** Between stop() and the socket's close, ioredis still reads `ready`. */
  #stopped = false;

  constructor(options: RedisApprovalStoreOptions) {
    if (!(options.retainMs >= 0) || !(options.maxGrantMs >= 0) || !(options.commandTimeoutMs > 0)) {
      throw new TypeError('retainMs and maxGrantMs must be ≥ 0 and commandTimeoutMs > 0');
    }
    this.#prefix = options.keyPrefix;
    this.#maxGrantMs = options.maxGrantMs;
    this.#retainMs = options.retainMs;
    this.#redis = failClosedRedis(options.url, options.commandTimeoutMs);
    defineApprovalScripts(this.#redis);
    this.#scripts = this.#redis as unknown as ApprovalScripts;
  }

  /**
   * `OK` while the connection is ready for commands, else `ERROR`. A server that hangs
   * with its socket open still reads `OK`: its commands fail by the command timeout.
   */
  status(): 'OK' | 'ERROR' {
    return !this.#stopped && this.#redis.status === 'ready' ? 'OK' : 'ERROR';
  }

  async park(record: ApprovalRecord, now: number): Promise<{ record: ApprovalRecord; created: boolean }> {
    const reply = await this.#call(() =>
      this.#scripts.mcpwApprovalPark(
        this.#recordKey(record.id_hash),
        this.#pointerKey(record.binding),
        this.#listKey(),
        this.#dropKey(),
        now,
        record.id_hash,
        record.created_at,
        this.#recordKey(''),
        this.#maxGrantMs,
        this.#retainMs,
        ...toFields(record),
      ),
    );
    if (reply === 0) throw new Error('approval id collision');
    if (reply === 1) return { record, created: true };
    return { record: fromReply(reply)!, created: false };
  }

  async get(idHash: string): Promise<ApprovalRecord | undefined> {
    return fromFields(await this.#call(() => this.#redis.hgetall(this.#recordKey(idHash))));
  }

  async byBinding(binding: string): Promise<ApprovalRecord | undefined> {
    return fromReply(
      await this.#call(() => this.#scripts.mcpwApprovalByBinding(this.#pointerKey(binding), this.#recordKey(''))),
    );
  }

  async transition(idHash: string, step: ApprovalTransition, now: number): Promise<ApprovalRecord | undefined> {
    const { set, clear } = changeFields(step.set);
    const reply = await this.#call(() =>
      this.#scripts.mcpwApprovalTransition(
        this.#recordKey(idHash),
        this.#dropKey(),
        now,
        `,${step.from.join(',')},`,
        step.to,
        step.when,
        this.#maxGrantMs,
        this.#retainMs,
        this.#pointerKey(''),
        idHash,
        set.length / 2,
        ...set,
        ...clear,
      ),
    );
    return fromReply(reply);
  }

  /**
   * Newest first, by rank in the index, a chunk at a time. A record parked meanwhile
   * shifts the ranks (a record read twice is listed once); an entry another replica drops
   * meanwhile can shift one out of this view, which is acceptable for a listing.
   */
  async list(query: ApprovalQuery, now: number): Promise<ApprovalRecord[]> {
    const index = this.#listKey();
    const found: ApprovalRecord[] = [];
    const seen = new Set<string>();
    let offset = 0;
    while (found.length < query.limit) {
      const members = await this.#call(() => this.#redis.zrevrange(index, offset, offset + CHUNK - 1));
      const records = await this.#call(() => Promise.all(members.map((m) => this.#redis.hgetall(this.#recordKey(m)))));
      const stale: string[] = [];
      records.forEach((fields, i) => {
        const record = fromFields(fields);
        if (record === undefined) stale.push(members[i]!);
        else if (found.length < query.limit && !seen.has(record.id_hash) && matches(record, query, now)) {
          seen.add(record.id_hash);
          found.push(record);
        }
      });
      // Records Redis dropped by their TTL (no sweep ran): their entries go now.
      if (stale.length > 0) await this.#call(() => this.#redis.zrem(index, ...stale));
      if (members.length < CHUNK) break;
      offset += members.length - stale.length;
    }
    return found;
  }

  /**
   * Drops the records past `droppableAt` at `now`, found through the drop index (so the
   * cost is the number of records due, not of all records), and the index entries of
   * records Redis already dropped by their TTL. Returns how many records it dropped or
   * cleaned up after.
   */
  async sweep(now: number): Promise<number> {
    const drop = this.#dropKey();
    let dropped = 0;
    for (;;) {
      const members = await this.#call(() => this.#redis.zrangebyscore(drop, '-inf', now, 'LIMIT', 0, CHUNK));
      const replies = await this.#call(() =>
        Promise.all(
          members.map((id) =>
            this.#scripts.mcpwApprovalDrop(
              this.#listKey(),
              drop,
              now,
              this.#maxGrantMs,
              this.#retainMs,
              this.#recordKey(''),
              this.#pointerKey(''),
              id,
            ),
          ),
        ),
      );
      for (const reply of replies) dropped += reply;
      // Each member due is either dropped or scored past `now`: the next read starts afresh.
      if (members.length < CHUNK) return dropped;
    }
  }

  /** Connects; rejects with `session_store_unavailable` (and stays stopped) when Redis cannot be reached. */
  async start(): Promise<void> {
    this.#stopped = false;
    try {
      await this.#redis.connect();
    } catch (err) {
      this.#redis.disconnect();
      throw storeUnavailable(err, 'approval store');
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#redis.status === 'ready') await this.#redis.quit().catch(() => {});
    this.#redis.disconnect();
  }

  #recordKey(idHash: string): string {
    return `${this.#prefix}a:${idHash}`;
  }

  #pointerKey(binding: string): string {
    return `${this.#prefix}ab:${binding}`;
  }

  #listKey(): string {
    return `${this.#prefix}ai`;
  }

  #dropKey(): string {
    return `${this.#prefix}ad`;
  }

  async #call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw storeUnavailable(err, 'approval store');
    }
  }
}

function matches(record: ApprovalRecord, query: ApprovalQuery, now: number): boolean {
  if (query.state !== undefined && stateAt(record, now) !== query.state) return false;
  return query.server === undefined || record.server === query.server;
}

// ---- codec -----------------------------------------------------------------------
// A record's HASH: `doc`, the JSON of the fields that never change; `binding` (which the
// scripts read); `state`, `expires_at`; and each mutable field while it is not null.
// Numbers are decimal strings, actors JSON, notes and decision ids as they are.

/** The fields of a record that never change once it is stored, kept as one JSON `doc`. */
type Immutable = Omit<ApprovalRecord, 'binding' | 'state' | 'expires_at' | keyof ApprovalChange>;

type Codec = 'number' | 'text' | 'json';

/** Every field a transition may set, and how it is stored. */
const MUTABLE: { readonly [K in keyof Required<ApprovalChange>]: Codec } = {
  decided_at: 'number',
  decided_by: 'json',
  note: 'text',
  grant_expires_at: 'number',
  consumed_at: 'number',
  consumed_by: 'text',
  revoked_at: 'number',
  revoked_by: 'json',
};

const MUTABLE_FIELDS = Object.keys(MUTABLE) as (keyof ApprovalChange)[];

function encode(codec: Codec, value: unknown): string {
  if (codec === 'number') return String(value as number);
  if (codec === 'json') return JSON.stringify(value);
  return value as string;
}

function decode(codec: Codec, value: string | undefined): unknown {
  if (value === undefined) return null;
  if (codec === 'number') return Number(value);
  if (codec === 'json') return JSON.parse(value);
  return value;
}

/** A record as HSET field/value pairs; a null mutable field is left out. */
function toFields(r: ApprovalRecord): string[] {
  const doc: Immutable = {
    id: r.id,
    id_hash: r.id_hash,
    owner: r.owner,
    server: r.server,
    session: r.session,
    tool: r.tool,
    arguments_sha256: r.arguments_sha256,
    arguments: r.arguments,
    client: r.client,
    obligation: r.obligation,
    decision_id: r.decision_id,
    created_by: r.created_by,
    created_at: r.created_at,
  };
  const fields = [
    'doc',
    JSON.stringify(doc),
    'binding',
    r.binding,
    'state',
    r.state,
    'expires_at',
    String(r.expires_at),
  ];
  for (const name of MUTABLE_FIELDS) {
    if (r[name] !== null) fields.push(name, encode(MUTABLE[name], r[name]));
  }
  return fields;
}

/** A transition's change as pairs to HSET and fields to HDEL (null); a field it leaves undefined is not touched. */
function changeFields(change: ApprovalChange): { set: string[]; clear: string[] } {
  const set: string[] = [];
  const clear: string[] = [];
  for (const name of MUTABLE_FIELDS) {
    const value = change[name];
    if (value === undefined) continue;
    if (value === null) clear.push(name);
    else set.push(name, encode(MUTABLE[name], value));
  }
  return { set, clear };
}

/** A record from a script's flat `[field, value, …]` reply; nil or empty → undefined. */
function fromReply(flat: string[] | null): ApprovalRecord | undefined {
  if (flat === null) return undefined;
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fromFields(fields);
}

/** A record from HGETALL's object; an empty one (no such key) → undefined. */
function fromFields(f: Record<string, string>): ApprovalRecord | undefined {
  if (f.doc === undefined) return undefined;
  const doc = JSON.parse(f.doc) as Immutable;
  const mutable = Object.fromEntries(MUTABLE_FIELDS.map((name) => [name, decode(MUTABLE[name], f[name])]));
  return {
    ...doc,
    binding: f.binding!,
    expires_at: Number(f.expires_at),
    state: f.state as ApprovalState,
    ...(mutable as Required<ApprovalChange>),
  };
}
