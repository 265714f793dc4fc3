import pg from 'pg';
import { AuditUnavailable, InvalidRequest } from '../errors.ts';
import { ChainSealer, newChainId, sealEach, type ChainHead, type SealedRecord } from './chain.ts';
import { CheckpointSchedule, type CheckpointSigner } from './checkpoint.ts';
import type { AuditPage, AuditQuery, AuditRecord, AuditSink } from './record.ts';

/** Options of {@link PostgresAuditSink}. */
export interface PostgresAuditSinkOptions {
  /** `postgres://user:password@host:port/db`. */
  readonly url: string;
  /** Table of records; checkpoints go to `<table>_checkpoints`. Lower-case letters, digits, `_`. */
  readonly table?: string;
  /** Most records in one INSERT (group commit). */
  readonly batchMaxRecords?: number;
  /** This replica's chain; a new one per process run. */
  readonly chain?: string;
  readonly signer: CheckpointSigner;
  readonly checkpointEveryRecords: number;
  readonly checkpointEveryMs: number;
  /** Longest wait for a connection or a statement before a write fails closed. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

interface Pending {
  readonly record: AuditRecord;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface Cursor {
  readonly ts: string;
  readonly chain: string;
  readonly seq: number;
}

// Short enough that `<table>_checkpoints` and `<table>_append_only` stay within 63 bytes.
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,50}$/;
/** Rows read per round trip by `records()` and `checkpoints()`. */
const PAGE = 1000;
const FILTERS = ['session', 'subject', 'client_id', 'tool', 'server', 'kind', 'allow'] as const;

/**
 * The shared audit trail of several replicas: one append-only PostgreSQL table, one hash
 * chain per replica (per sink), signed checkpoints in `<table>_checkpoints`. A trigger
 * refuses UPDATE, DELETE and TRUNCATE on both tables, and those grants are revoked from
 * PUBLIC. Needs PostgreSQL ≥ 11 (tested with 15).
 *
 * Records appended in one event-loop turn are sealed and written by one INSERT (group
 * commit); batches are written one after another, so the chain order is the commit order.
 * A failed batch rejects its appends with `audit_unavailable` and takes back their seals.
 * The pool reconnects on demand, so the same instance recovers when the database returns.
 */
export class PostgresAuditSink implements AuditSink {
  readonly #url: string;
  readonly #table: string;
  readonly #checkpointTable: string;
  readonly #batchMax: number;
  readonly #signer: CheckpointSigner;
  readonly #everyRecords: number;
  readonly #everyMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #sealer: ChainSealer;
  #committed: ChainHead;
  #checkpointed = 0;
  #schedule: CheckpointSchedule;
  #pool: pg.Pool | undefined;
  #accepting = false;
  #ok = false;
  /** Set after a failed write: its COMMIT may have landed although we saw an error. */
  #resync = false;
  #pending: Pending[] = [];
  #drain: Promise<void> | undefined;

  constructor(options: PostgresAuditSinkOptions) {
    const table = options.table ?? 'mcp_warden_audit';
    if (!TABLE_NAME.test(table)) throw new TypeError(`table must match ${TABLE_NAME} (got ${JSON.stringify(table)})`);
    const batchMax = options.batchMaxRecords ?? 256;
    if (!Number.isInteger(batchMax) || batchMax < 1) throw new TypeError('batchMaxRecords must be an integer ≥ 1');
    if (!(options.checkpointEveryRecords >= 1) || !(options.checkpointEveryMs > 0)) {
      throw new TypeError('checkpointEveryRecords must be ≥ 1 and checkpointEveryMs > 0');
    }
    this.#url = options.url;
    this.#table = table;
    this.#checkpointTable = `${table}_checkpoints`;
    this.#batchMax = batchMax;
    this.#signer = options.signer;
    this.#everyRecords = options.checkpointEveryRecords;
    this.#everyMs = options.checkpointEveryMs;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.#now = options.now ?? Date.now;
    this.#sealer = new ChainSealer(options.chain ?? newChainId());
    this.#committed = this.#sealer.head;
    this.#schedule = new CheckpointSchedule(this.#everyRecords, this.#everyMs, this.#now());
  }

  /** `OK` after a successful start and last write; `ERROR` after a failed write, or when not started. */
  status(): 'OK' | 'ERROR' {
    return this.#ok ? 'OK' : 'ERROR';
  }

  /** The last committed record of this sink's chain. */
  head(): ChainHead {
    return this.#committed;
  }

  async start(): Promise<void> {
    if (this.#pool !== undefined) return;
    const t = this.#timeoutMs;
    const pool = new pg.Pool({
      connectionString: this.#url,
      max: 4,
      connectionTimeoutMillis: t,
      // Server side and client side: a hung server must not hold a decision either.
      statement_timeout: t,
      query_timeout: t,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
    });
    // An idle connection that dies (server restart) is dropped by the pool and replaced on
    // demand; without a listener the 'error' event would crash the process.
    pool.on('error', () => {});
    try {
      // One simple-protocol message runs as one transaction.
      await pool.query(migration(this.#table, this.#checkpointTable));
      await this.#resyncHead(pool);
    } catch (err) {
      await pool.end().catch(() => {});
      throw new AuditUnavailable(`the PostgreSQL audit sink could not start: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.#pool = pool;
    this.#schedule = new CheckpointSchedule(this.#everyRecords, this.#everyMs, this.#now());
    // A chain taken up again (a fixed chain id) counts from where the table stands.
    if (this.#committed.seq > 0) this.#schedule.done(this.#committed, this.#now());
    this.#checkpointed = this.#committed.seq;
    this.#accepting = true;
    this.#ok = true;
  }

  append(record: AuditRecord): Promise<void> {
    if (!this.#accepting) return Promise.reject(new AuditUnavailable('the PostgreSQL audit sink is not started'));
    // PostgreSQL refuses such text; one bad record must not fail the batch it would join.
    if (unstorable(record)) {
      return Promise.reject(
        new AuditUnavailable('the record holds text PostgreSQL cannot store (NUL or a lone surrogate)'),
      );
    }
    if (Number.isNaN(Date.parse(record.ts))) return Promise.reject(new AuditUnavailable('the record has no valid ts'));
    return new Promise((resolve, reject) => {
      this.#pending.push({ record, resolve, reject });
      this.#scheduleDrain();
    });
  }

  async stop(): Promise<void> {
    const pool = this.#pool;
    if (pool === undefined) return;
    this.#accepting = false;
    while (this.#drain !== undefined) await this.#drain;
    if (this.#committed.seq > this.#checkpointed) await this.#checkpoint(pool);
    this.#pool = undefined;
    this.#ok = false;
    await pool.end();
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    if (!Number.isInteger(q.limit) || q.limit < 0) throw new InvalidRequest('limit must be an integer ≥ 0');
    if (q.limit === 0) return { records: [], next: null };
    const params: unknown[] = [];
    const where: string[] = [];
    const param = (value: unknown, cast = ''): string => `$${params.push(value)}${cast}`;
    for (const field of FILTERS) {
      const value = q[field];
      if (value !== undefined) where.push(`${field} = ${param(value)}`);
    }
    if (q.since !== undefined) where.push(`ts >= ${param(isoTime(q.since, 'since'), '::timestamptz')}`);
    if (q.until !== undefined) where.push(`ts < ${param(isoTime(q.until, 'until'), '::timestamptz')}`);
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor);
      where.push(
        `(ts, chain, seq) > (${param(c.ts, '::timestamptz')}, ${param(c.chain)}, ${param(c.seq, '::bigint')})`,
      );
    }
    const sql =
      `SELECT record FROM ${this.#table} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY ts, chain, seq LIMIT ${param(q.limit + 1)}`;
    const { rows } = await this.#read<{ record: SealedRecord }>(sql, params);
    const records = rows.slice(0, q.limit).map((r) => r.record);
    const last = records.at(-1);
    return { records, next: rows.length > q.limit && last !== undefined ? encodeCursor(last) : null };
  }

  /** Every record, by chain then seq, read a page at a time. */
  async *records(): AsyncGenerator<SealedRecord> {
    for await (const row of this.#scan<{ record: SealedRecord }>(this.#table, 'record')) yield row.record;
  }

  /** Every checkpoint JWS, by chain then seq. */
  async *checkpoints(): AsyncGenerator<string> {
    for await (const row of this.#scan<{ jws: string }>(this.#checkpointTable, 'jws')) yield row.jws;
  }

  async *#scan<Row extends object>(table: string, column: string): AsyncGenerator<Row> {
    let after: { chain: string; seq: string } | undefined;
    for (;;) {
      const where = after ? 'WHERE (chain, seq) > ($1, $2::bigint)' : '';
      const { rows } = await this.#read<Row & { chain: string; seq: string }>(
        `SELECT chain, seq, ${column} FROM ${table} ${where} ORDER BY chain, seq LIMIT ${PAGE}`,
        after ? [after.chain, after.seq] : [],
      );
      for (const row of rows) yield row as Row;
      const last = rows.at(-1);
      if (rows.length < PAGE || last === undefined) return;
      after = { chain: last.chain, seq: last.seq };
    }
  }

  async #read<Row extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<Row>> {
    const pool = this.#pool;
    if (pool === undefined) throw new AuditUnavailable('the PostgreSQL audit sink is not started');
    try {
      return await pool.query<Row>(sql, params);
    } catch (err) {
      throw new AuditUnavailable(`the audit database did not answer: ${(err as Error).message}`, { cause: err });
    }
  }

  #scheduleDrain(): void {
    if (this.#drain !== undefined) return;
    // setImmediate: every append of the current event-loop turn joins the first batch.
    this.#drain = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#drainPending())
      .finally(() => {
        this.#drain = undefined;
        if (this.#pending.length > 0) this.#scheduleDrain();
      });
  }

  async #drainPending(): Promise<void> {
    while (this.#pending.length > 0) {
      const pool = this.#pool!;
      const batch = this.#pending.splice(0, this.#batchMax);
      if (await this.#write(pool, batch)) {
        // Decided at commit time, before the appenders' code runs on (and moves the clock).
        const due = this.#schedule.due(this.#committed, this.#now());
        for (const p of batch) p.resolve();
        if (due) await this.#checkpoint(pool);
      } else {
        // What queued meanwhile would meet the same database: fail it now, not one timeout later.
        const waiting = this.#pending.splice(0);
        for (const p of waiting) p.reject(new AuditUnavailable('the audit database is unavailable'));
      }
    }
  }

  /** Seals and inserts one batch; true when it was committed, else its appends are rejected. */
  async #write(pool: pg.Pool, pending: readonly Pending[]): Promise<boolean> {
    let batch = pending;
    let before = this.#sealer.head;
    try {
      if (this.#resync) {
        await this.#resyncHead(pool);
        before = this.#sealer.head;
      }
      const unsealable = (p: Pending) =>
        p.reject(new AuditUnavailable('the record has no canonical form (a lone surrogate or a non-finite number)'));
      const { items, sealed } = sealEach(this.#sealer, batch, unsealable);
      batch = items;
      if (sealed.length > 0) await pool.query(INSERT(this.#table), columns(this.#sealer.head.chain, sealed));
    } catch (err) {
      this.#sealer.rewind(before);
      this.#resync = true;
      this.#ok = false;
      const failure = new AuditUnavailable(`the audit database refused the records: ${(err as Error).message}`, {
        cause: err,
      });
      for (const p of batch) p.reject(failure);
      return false;
    }
    this.#committed = this.#sealer.head;
    this.#resync = false;
    this.#ok = true;
    return true;
  }

  /** Takes the chain's head from the table when it is further on than ours (a lost COMMIT reply, a reused chain id). */
  async #resyncHead(pool: pg.Pool): Promise<void> {
    const { rows } = await pool.query<{ seq: string; hash: string }>(
      `SELECT seq, hash FROM ${this.#table} WHERE chain = $1 ORDER BY seq DESC LIMIT 1`,
      [this.#sealer.head.chain],
    );
    const row = rows[0];
    if (row !== undefined && Number(row.seq) > this.#sealer.head.seq) {
      this.#sealer.rewind({ chain: this.#sealer.head.chain, seq: Number(row.seq), hash: row.hash });
      this.#committed = this.#sealer.head;
    }
  }

  /** Signs and stores a checkpoint of the committed head; a failure is retried after the next batch. */
  async #checkpoint(pool: pg.Pool): Promise<void> {
    const head = this.#committed;
    const now = this.#now();
    try {
      const jws = await this.#signer.sign(head, now);
      await pool.query(
        `INSERT INTO ${this.#checkpointTable} (chain, seq, jws) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [head.chain, head.seq, jws],
      );
    } catch {
      // The records are committed already; only the checkpoint is late.
      return;
    }
    this.#schedule.done(head, now);
    this.#checkpointed = head.seq;
  }
}

/** One statement text whatever the batch size: arrays, not one placeholder per value (PostgreSQL allows 65 535). */
const INSERT = (table: string): string =>
  `INSERT INTO ${table} (chain, seq, ts, kind, session, subject, client_id, server, tool, allow, record, hash) ` +
  'SELECT $1, u.seq, u.ts, u.kind, u.session, u.subject, u.client_id, u.server, u.tool, u.allow, ' +
  'u.record::jsonb, u.hash ' +
  'FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], ' +
  '$9::text[], $10::boolean[], $11::text[], $12::text[]) ' +
  'AS u(seq, ts, kind, session, subject, client_id, server, tool, allow, record, hash)';

function columns(chain: string, sealed: readonly SealedRecord[]): unknown[] {
  return [
    chain,
    sealed.map((r) => r.seq),
    sealed.map((r) => r.ts),
    sealed.map((r) => r.kind),
    sealed.map((r) => r.session),
    sealed.map((r) => r.principal?.sub ?? null),
    sealed.map((r) => r.principal?.client_id ?? null),
    sealed.map((r) => r.server),
    sealed.map((r) => r.tool),
    sealed.map((r) => r.allow),
    sealed.map((r) => JSON.stringify(r)),
    sealed.map((r) => r.hash),
  ];
}

/** Tables, indexes and the append-only guard; safe to run again and by several replicas at once. */
function migration(table: string, checkpoints: string): string {
  const guard = `${table}_append_only`;
  const trigger = (on: string, name: string, when: string) => {
    const each = when === 'TRUNCATE' ? 'FOR EACH STATEMENT' : 'FOR EACH ROW';
    return `
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '${on}'::regclass AND tgname = '${name}') THEN
      CREATE TRIGGER ${name} BEFORE ${when} ON ${on} ${each} EXECUTE FUNCTION ${guard}();
    END IF;`;
  };
  return `
    SELECT pg_advisory_xact_lock(hashtext('mcp-warden:${table}'));
    CREATE TABLE IF NOT EXISTS ${table} (
      chain text NOT NULL, seq bigint NOT NULL, ts timestamptz NOT NULL, kind text NOT NULL,
      session text, subject text, client_id text, server text, tool text, allow boolean,
      record jsonb NOT NULL, hash text NOT NULL, PRIMARY KEY (chain, seq));
    CREATE INDEX IF NOT EXISTS ${table}_ts ON ${table} (ts, chain, seq);
    ${FILTERS.map((f) => `CREATE INDEX IF NOT EXISTS ${table}_${f} ON ${table} (${f}, ts);`).join('\n    ')}
    CREATE TABLE IF NOT EXISTS ${checkpoints} (
      chain text NOT NULL, seq bigint NOT NULL, jws text NOT NULL, PRIMARY KEY (chain, seq));
    CREATE OR REPLACE FUNCTION ${guard}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'the audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END $$;
    DO $$ BEGIN
      ${trigger(table, 'append_only_row', 'UPDATE OR DELETE')}
      ${trigger(table, 'append_only_truncate', 'TRUNCATE')}
      ${trigger(checkpoints, 'append_only_row', 'UPDATE OR DELETE')}
      ${trigger(checkpoints, 'append_only_truncate', 'TRUNCATE')}
    END $$;
    REVOKE UPDATE, DELETE, TRUNCATE ON ${table}, ${checkpoints} FROM PUBLIC;`;
}

/** Whether any string (key or value) holds NUL or a lone surrogate, which jsonb and text refuse. */
function unstorable(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0') || !value.isWellFormed();
  if (Array.isArray(value)) return value.some(unstorable);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).some(([k, v]) => unstorable(k) || unstorable(v));
  return false;
}

function isoTime(value: string, name: string): string {
  if (Number.isNaN(Date.parse(value))) throw new InvalidRequest(`${name} is not an ISO 8601 time`);
  return value;
}

function encodeCursor(record: SealedRecord): string {
  const cursor: Cursor = { ts: record.ts, chain: record.chain, seq: record.seq };
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (
      typeof c.ts === 'string' &&
      !Number.isNaN(Date.parse(c.ts)) &&
      typeof c.chain === 'string' &&
      Number.isInteger(c.seq)
    ) {
      return c as Cursor;
    }
  } catch {
    // fall through to the coded error
  }
  throw new InvalidRequest('the cursor is not one this service issued');
}
