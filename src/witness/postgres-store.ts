import type pg from 'pg';
import { auditPool } from '../audit/postgres-trail.ts';
import type { WitnessEntry, WitnessStore, WitnessStoreStatus } from './store.ts';

/** Where the PostgreSQL store keeps the witness's state. */
export interface PostgresWitnessStoreOptions {
  readonly url: string;
  /** Prepended to `witness_logs`: letters, digits and `_`, starting with a letter or `_` (default none). */
  readonly tablePrefix?: string;
  /** Connection and statement timeout (default 5 s). */
  readonly timeoutMs?: number;
}

/** The table's schema, created at start if missing (idempotent; safe for two witnesses starting at once). */
export function witnessMigration(table: string): string {
  return `
    SELECT pg_advisory_xact_lock(hashtext('mcp-warden-witness:${table}'));
    CREATE TABLE IF NOT EXISTS ${table} (
      origin text PRIMARY KEY,
      size bigint NOT NULL CHECK (size >= 0),
      root text NOT NULL,
      checkpoint text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now());`;
}

interface Row {
  origin: string;
  size: string;
  root: string;
  checkpoint: string;
  updated_at: Date;
}

/**
 * The witness's state in PostgreSQL, one row per origin in `<prefix>witness_logs`. The
 * update is a compare-and-set on the old size in one statement (an `UPDATE … WHERE size =
 * old`, or for old size 0 an `INSERT … ON CONFLICT DO UPDATE … WHERE size = 0`): under
 * READ COMMITTED a concurrent writer's statement waits for the row and re-checks its
 * condition on the new version, so two witness processes on one database never both
 * move a log from the same size, and never roll one back.
 */
export class PostgresWitnessStore implements WitnessStore {
  readonly #url: string;
  readonly #table: string;
  readonly #timeoutMs: number;
  #pool: pg.Pool | undefined;

  constructor(options: PostgresWitnessStoreOptions) {
    const prefix = options.tablePrefix ?? '';
    if (!/^([A-Za-z_][A-Za-z0-9_]*)?$/.test(prefix) || prefix.length > 50)
      throw new TypeError(`the table prefix ${JSON.stringify(prefix)} is not a plain SQL identifier prefix`);
    this.#url = options.url;
    this.#table = `${prefix.toLowerCase()}witness_logs`;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** The table it uses. */
  get table(): string {
    return this.#table;
  }

  async start(): Promise<void> {
    if (this.#pool) return;
    const pool = auditPool(this.#url, this.#timeoutMs);
    try {
      await pool.query(witnessMigration(this.#table));
    } catch (err) {
      await pool.end().catch(() => {});
      throw new Error(`the witness database refused its schema (${this.#table}): ${(err as Error).message}`);
    }
    this.#pool = pool;
  }

  async get(origin: string): Promise<WitnessEntry | undefined> {
    const { rows } = await this.#ready().query<Row>(`SELECT * FROM ${this.#table} WHERE origin = $1`, [origin]);
    return rows[0] && entryOf(rows[0]);
  }

  async list(prefix = ''): Promise<WitnessEntry[]> {
    const { rows } = await this.#ready().query<Row>(
      `SELECT * FROM ${this.#table} WHERE left(origin, char_length($1)) = $1 ORDER BY origin COLLATE "C"`,
      [prefix],
    );
    return rows.map(entryOf);
  }

  async compareAndSet(oldSize: number, entry: WitnessEntry): Promise<boolean> {
    const values = [entry.origin, entry.size, entry.root, entry.checkpoint, entry.updatedAt];
    const sql =
      oldSize === 0
        ? `INSERT INTO ${this.#table} AS t (origin, size, root, checkpoint, updated_at) VALUES ($1, $2, $3, $4, $5) ` +
          'ON CONFLICT (origin) DO UPDATE SET size = EXCLUDED.size, root = EXCLUDED.root, ' +
          'checkpoint = EXCLUDED.checkpoint, updated_at = EXCLUDED.updated_at WHERE t.size = 0'
        : `UPDATE ${this.#table} SET size = $2, root = $3, checkpoint = $4, updated_at = $5 ` +
          'WHERE origin = $1 AND size = $6';
    const result = await this.#ready().query(sql, oldSize === 0 ? values : [...values, oldSize]);
    return result.rowCount === 1;
  }

  async status(): Promise<{ status: WitnessStoreStatus; message?: string }> {
    if (!this.#pool) return { status: 'NOT_READY' };
    try {
      await this.#pool.query('SELECT 1');
      return { status: 'OK' };
    } catch (err) {
      return { status: 'ERROR', message: (err as Error).message };
    }
  }

  async stop(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }

  #ready(): pg.Pool {
    if (!this.#pool) throw new Error('the witness PostgreSQL store is not started');
    return this.#pool;
  }
}

function entryOf(row: Row): WitnessEntry {
  return {
    origin: row.origin,
    size: Number(row.size),
    root: row.root,
    checkpoint: row.checkpoint,
    updatedAt: row.updated_at.toISOString(),
  };
}
