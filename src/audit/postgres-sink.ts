import type pg from 'pg';
import { AuditUnavailable } from '../errors.ts';
import { type ChainSealer, newChainId, type ChainHead, type SealedRecord } from './chain.ts';
import { type ChainLink, lineageOf, linkTo } from './chain-link.ts';
import { type CheckpointSigner, openChainCheckpoint, type TreeHead } from './checkpoint.ts';
import type { NoteVerifier } from './signed-note.ts';
import { GroupCommit, scheduleOf } from './group-commit.ts';
import type { WitnessClient } from './witness-client.ts';
import { auditPool, PostgresTrail } from './postgres-trail.ts';
import { INSERT, migration, schemaCheck } from './postgres-sql.ts';
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
  /** Where each checkpoint goes to be cosigned, and whether a witness's silence fails appends. */
  readonly witness?: WitnessClient | undefined;
  readonly requireWitness?: boolean | undefined;
  /** Create or update the schema at start (default); false: only check it is there (see `audit migrate`). */
  readonly migrate?: boolean;
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
  readonly #verifier: NoteVerifier;
  readonly #migrate: boolean;
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
    this.#verifier = options.signer.verifier;
    this.#migrate = options.migrate ?? true;
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
        ...scheduleOf(options),
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
      await pool.query(
        this.#migrate ? migration(this.#table, this.#checkpointTable) : schemaCheck(this.#table, this.#checkpointTable),
      );
      // A chain taken up again (a fixed chain id, after a crash) goes on from where the table
      // stands; a closed one is never written again.
      const stored = await this.#storedAfter(pool, this.#commit.head.chain, 0);
      if (stored.at(-1)?.kind === 'audit.chain_closed') {
        throw new Error(`chain ${this.#commit.head.chain} is closed: a closed chain is never written again`);
      }
      this.#commit.resume(stored);
      this.#pool = pool;
      if (this.#commit.head.seq === 0) await this.#commit.open(await this.#previousLink(pool));
    } catch (err) {
      this.#pool = undefined;
      await pool.end().catch(() => {});
      throw new AuditUnavailable(`the PostgreSQL audit sink could not start: ${(err as Error).message}`, {
        cause: err,
      });
    }
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
    await this.#commit.close();
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

  /**
   * The link to the last chain of this writer (chain ids `<host>:<time>:<random>` sort by
   * time within a host): its last record and last checkpoint.
   */
  async #previousLink(pool: pg.Pool): Promise<ChainLink | null> {
    const lineage = `${lineageOf(this.#commit.head.chain)}:`;
    // The chain that wrote last (the ts index, scanned backwards; the prefix compared as text,
    // whatever the database's collation), then its last record by seq, whatever the clocks said.
    const latest = await pool.query<{ chain: string }>(
      `SELECT chain FROM ${this.#table} WHERE left(chain, length($1)) = $1 AND chain <> $2 ` +
        'ORDER BY ts DESC LIMIT 1',
      [lineage, this.#commit.head.chain],
    );
    const chain = latest.rows[0]?.chain;
    if (chain === undefined) return null;
    const { rows } = await pool.query<{ record: SealedRecord }>(
      `SELECT record FROM ${this.#table} WHERE chain = $1 ORDER BY seq DESC LIMIT 1`,
      [chain],
    );
    const last = rows[0]?.record ?? null;
    if (last === null) return null;
    const notes = await pool.query<{ note: string }>(
      `SELECT note FROM ${this.#checkpointTable} WHERE chain = $1 ORDER BY seq DESC LIMIT 1`,
      [last.chain],
    );
    const note = notes.rows[0]?.note;
    let checkpoint: TreeHead | null = null;
    try {
      checkpoint = note === undefined ? null : openChainCheckpoint(note, [this.#verifier]);
    } catch {
      checkpoint = null; // another key's: not one this writer can vouch for
    }
    return linkTo(last, checkpoint);
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
