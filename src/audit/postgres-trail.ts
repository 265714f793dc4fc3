import pg from 'pg';
import { AuditUnavailable, InvalidRequest } from '../errors.ts';
import type { SealedRecord } from './chain.ts';
import { FILTERS } from './postgres-sql.ts';
import type { AuditPage, AuditQuery, AuditTrail } from './record.ts';

interface Cursor {
  readonly ts: string;
  readonly chain: string;
  readonly seq: number;
}

/** Rows read per round trip by `records()` and `checkpoints()`. */
const PAGE = 1000;

/**
 * A pool for the audit database whose connections and statements time out after
 * `timeoutMs`: a hung server must not hold a decision either.
 */
export function auditPool(url: string, timeoutMs: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: timeoutMs,
    // Server side and client side.
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  // An idle connection that dies (server restart) is dropped by the pool and replaced on
  // demand; without a listener the 'error' event would crash the process.
  pool.on('error', () => {});
  return pool;
}

/**
 * The PostgreSQL sink's trail, read only: SELECTs on `<table>` and `<table>_checkpoints`
 * through a pool it is given. It never migrates or writes, so a reader role with SELECT
 * alone can verify and query.
 */
export class PostgresTrail implements AuditTrail {
  readonly #pool: () => pg.Pool;
  readonly #table: string;
  readonly #checkpoints: string;

  constructor(pool: () => pg.Pool, table: string) {
    this.#pool = pool;
    this.#table = table;
    this.#checkpoints = `${table}_checkpoints`;
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
    for await (const row of this.#scan<{ note: string }>(this.#checkpoints, 'note')) yield row.note;
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
    const pool = this.#pool();
    try {
      return await pool.query<Row>(sql, params);
    } catch (err) {
      throw new AuditUnavailable(`the audit database did not answer: ${(err as Error).message}`, { cause: err });
    }
  }
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
