import type pg from 'pg';
import { AuditUnavailable } from '../errors.ts';
import { type ChainSealer, newChainId, type ChainHead, type SealedRecord } from './chain.ts';
import type { CheckpointSigner } from './checkpoint.ts';
import { GroupCommit } from './group-commit.ts';
import { auditPool, PostgresTrail } from './postgres-trail.ts';
import { INSERT, migration } from './postgres-sql.ts';
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

// Short enough that `<table>_checkpoints` and `<table>_append_only` stay within 63 bytes.
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,50}$/;

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
  readonly #timeoutMs: number;
  readonly #commit: GroupCommit;
  readonly #trail: PostgresTrail;
  #pool: pg.Pool | undefined;
  #accepting = false;

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
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.#trail = new PostgresTrail(() => this.#started(), table);
    this.#commit = new GroupCommit(
      {
        // After a failed write its COMMIT may have landed although we saw an error.
        prepare: async (sealer, failedBefore) => {
          if (failedBefore) await this.#resyncHead(this.#started(), sealer);
          return [];
        },
        write: async (sealed) => {
          await this.#started().query(INSERT(this.#table), columns(sealed[0]!.chain, sealed));
        },
        storeCheckpoint: async (head, signed) => {
          await this.#started().query(
            `INSERT INTO ${this.#checkpointTable} (chain, seq, note) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
            [head.chain, head.seq, signed],
          );
        },
      },
      {
        chain: options.chain ?? newChainId(),
        signer: options.signer,
        checkpointEveryRecords: options.checkpointEveryRecords,
        checkpointEveryMs: options.checkpointEveryMs,
        batchMaxRecords: batchMax,
        rejectQueuedOnFailure: true,
        now: options.now ?? Date.now,
      },
    );
  }

  /** `OK` after a successful start and last write; `ERROR` after a failed write, or when not started. */
  status(): 'OK' | 'ERROR' {
    return this.#pool !== undefined && !this.#commit.failing ? 'OK' : 'ERROR';
  }

  /** The last committed record of this sink's chain. */
  head(): ChainHead {
    return this.#commit.head;
  }

  async start(): Promise<void> {
    if (this.#pool !== undefined) return;
    const pool = auditPool(this.#url, this.#timeoutMs);
    try {
      // One simple-protocol message runs as one transaction.
      await pool.query(migration(this.#table, this.#checkpointTable));
      // A chain taken up again (a fixed chain id) goes on from where the table stands.
      this.#commit.resume(await this.#storedAfter(pool, this.#commit.head.chain, 0));
    } catch (err) {
      await pool.end().catch(() => {});
      throw new AuditUnavailable(`the PostgreSQL audit sink could not start: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.#pool = pool;
    this.#accepting = true;
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
    return this.#commit.append(record);
  }

  async stop(): Promise<void> {
    const pool = this.#pool;
    if (pool === undefined) return;
    this.#accepting = false;
    await this.#commit.flush();
    this.#pool = undefined;
    await pool.end();
  }

  query(q: AuditQuery): Promise<AuditPage> {
    return this.#trail.query(q);
  }

  records(): AsyncIterable<SealedRecord> {
    return this.#trail.records();
  }

  checkpoints(): AsyncIterable<string> {
    return this.#trail.checkpoints();
  }

  #started(): pg.Pool {
    if (this.#pool === undefined) throw new AuditUnavailable('the PostgreSQL audit sink is not started');
    return this.#pool;
  }

  /** Takes the records the table holds beyond ours (a COMMIT that landed though its reply was lost). */
  async #resyncHead(pool: pg.Pool, sealer: ChainSealer): Promise<void> {
    for (const record of await this.#storedAfter(pool, sealer.head.chain, sealer.head.seq)) sealer.adopt(record);
  }

  async #storedAfter(pool: pg.Pool, chain: string, seq: number): Promise<SealedRecord[]> {
    const { rows } = await pool.query<{ record: SealedRecord }>(
      `SELECT record FROM ${this.#table} WHERE chain = $1 AND seq > $2 ORDER BY seq`,
      [chain, seq],
    );
    return rows.map((r) => r.record);
  }
}

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

/** Whether any string (key or value) holds NUL or a lone surrogate, which jsonb and text refuse. */
function unstorable(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0') || !value.isWellFormed();
  if (Array.isArray(value)) return value.some(unstorable);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).some(([k, v]) => unstorable(k) || unstorable(v));
  return false;
}
