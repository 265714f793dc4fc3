import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashRecord, type SealedRecord } from '../../src/audit/chain.ts';
import { loadCheckpointSigner, type CheckpointSigner } from '../../src/audit/checkpoint.ts';
import { PostgresAuditSink, type PostgresAuditSinkOptions } from '../../src/audit/postgres-sink.ts';
import { verifyTrail } from '../../src/audit/verify.ts';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres.ts';
import { auditRecord } from './sink-contract.ts';

let server: PostgresServer;
let signer: CheckpointSigner;
let keyDir: string;
const sinks: PostgresAuditSink[] = [];

beforeAll(async () => {
  server = await startPostgresServer();
  keyDir = mkdtempSync(join(tmpdir(), 'mcp-warden-pg-key-'));
  signer = await loadCheckpointSigner(join(keyDir, 'key.json'));
});
afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.stop();
});
afterAll(async () => {
  await server?.stop();
  if (keyDir !== undefined) rmSync(keyDir, { recursive: true, force: true });
});

const freshTable = () => `audit_${randomBytes(6).toString('hex')}`;

const tables = new WeakMap<PostgresAuditSink, string>();

/** A sink on a fresh table unless `table` is given; stopped after the test. */
function makeSink(options: Partial<PostgresAuditSinkOptions> = {}): PostgresAuditSink {
  const table = options.table ?? freshTable();
  const sink = new PostgresAuditSink({
    url: server.url,
    signer,
    checkpointEveryRecords: 1000,
    checkpointEveryMs: 3_600_000,
    ...options,
    table,
  });
  tables.set(sink, table);
  sinks.push(sink);
  return sink;
}

/** The table a sink writes (the sink keeps it private). */
const tableOf = (sink: PostgresAuditSink): string => tables.get(sink)!;

/** One statement as the superuser, on its own connection. */
async function sql<Row extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  params: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return (await client.query<Row>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** What an attacker with superuser rights does: switch the append-only triggers off, change, switch them on. */
async function bypass(table: string, change: string, params: unknown[]): Promise<void> {
  await sql(`ALTER TABLE ${table} DISABLE TRIGGER ALL`);
  await sql(change, params);
  await sql(`ALTER TABLE ${table} ENABLE TRIGGER ALL`);
}

async function readAll(sink: PostgresAuditSink): Promise<SealedRecord[]> {
  const records: SealedRecord[] = [];
  for await (const r of sink.records()) records.push(r);
  return records;
}

async function appendN(sink: PostgresAuditSink, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n += 1) await sink.append(auditRecord(n));
}

describe('PostgresAuditSink', () => {
  describe('set-up', () => {
    it('refuses a table name that is not a plain identifier', () => {
      for (const table of ['audit; DROP TABLE x', 'Audit', 'public.audit', '"audit"', 'a'.repeat(52), '']) {
        expect(() => makeSink({ table })).toThrow(TypeError);
      }
      expect(() => makeSink({ batchMaxRecords: 0 })).toThrow(TypeError);
    });

    it('migrates idempotently, with several replicas starting at once', async () => {
      const table = freshTable();
      await Promise.all([1, 2, 3].map(() => makeSink({ table }).start()));
      await makeSink({ table }).start();
      const triggers = await sql(
        `SELECT tgname FROM pg_trigger WHERE tgrelid IN ($1::regclass, $2::regclass) AND NOT tgisinternal`,
        [table, `${table}_checkpoints`],
      );
      expect(triggers).toHaveLength(4);
      const [grants] = await sql<{ u: boolean; d: boolean; t: boolean }>(
        `SELECT has_table_privilege('public', $1, 'UPDATE') AS u, has_table_privilege('public', $1, ` +
          `'DELETE') AS d, has_table_privilege('public', $1, 'TRUNCATE') AS t`,
        [table],
      );
      expect(grants).toStrictEqual({ u: false, d: false, t: false });
    });

    it('fails to start, fast and coded, when the database cannot be reached', async () => {
      const sink = makeSink({ url: 'postgres://postgres@127.0.0.1:1/postgres' });
      await expect(sink.start()).rejects.toMatchObject({ code: 'audit_unavailable' });
      expect(sink.status()).toBe('ERROR');
      await expect(sink.append(auditRecord(1))).rejects.toMatchObject({ code: 'audit_unavailable' });
    });

    it('takes up a reused chain id where the table stands', async () => {
      const table = freshTable();
      const first = makeSink({ table, chain: 'replica-1' });
      await first.start();
      await appendN(first, 1, 2);
      await first.stop();
      const second = makeSink({ table, chain: 'replica-1' });
      await second.start();
      await second.append(auditRecord(3));
      expect(second.head().seq).toBe(3);
      expect(await verifyTrail(second, [signer.verifier])).toMatchObject({
        ok: true,
        records: 3,
        chains: [{ records: 3 }],
      });
    });
  });

  describe('append-only', () => {
    const attempts = (table: string) => [
      `UPDATE ${table} SET seq = seq + 100`,
      `DELETE FROM ${table}`,
      `TRUNCATE ${table}`,
    ];
    it('the triggers refuse UPDATE, DELETE and TRUNCATE on records and checkpoints, even to the owner', async () => {
      const sink = makeSink({ checkpointEveryRecords: 2 });
      await sink.start();
      await appendN(sink, 1, 4);
      const table = tableOf(sink);
      for (const t of [table, `${table}_checkpoints`]) {
        const before = await sql(`SELECT * FROM ${t} ORDER BY chain, seq`);
        expect(before.length).toBeGreaterThan(0);
        for (const statement of attempts(t)) {
          await expect(sql(statement), statement).rejects.toMatchObject({
            code: '42501',
            message: expect.stringMatching(/append-only/),
          });
        }
        expect(await sql(`SELECT * FROM ${t} ORDER BY chain, seq`)).toStrictEqual(before);
      }
    });
  });

  describe('writes', () => {
    it('writes the appends of one event-loop turn as one INSERT per batchMaxRecords', async () => {
      const sink = makeSink({ batchMaxRecords: 256 });
      await sink.start();
      await Promise.all(Array.from({ length: 600 }, (_, i) => sink.append(auditRecord(i))));
      // All rows of one statement share its transaction id.
      expect(await sql(`SELECT count(DISTINCT xmin::text)::int AS n FROM ${tableOf(sink)}`)).toStrictEqual([{ n: 3 }]);
    });

    it('refuses alone a record PostgreSQL cannot store; its batch goes through without a gap', async () => {
      const sink = makeSink();
      await sink.start();
      const results = await Promise.allSettled([
        sink.append(auditRecord(1)),
        sink.append(auditRecord(2, { input: { arguments: { path: 'a\u0000b' } } })),
        sink.append(auditRecord(3, { input: { arguments: { path: '\ud800' } } })),
        sink.append(auditRecord(4)),
      ]);
      expect(results.map((r) => r.status)).toStrictEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect(results[1]).toMatchObject({ reason: { code: 'audit_unavailable' } });
      expect((await readAll(sink)).map((r) => [r.seq, r.decision_id])).toStrictEqual([
        [1, 'd1'],
        [2, 'd4'],
      ]);
    });

    it('reads every record back across pages of 1000', async () => {
      const sink = makeSink();
      await sink.start();
      await Promise.all(Array.from({ length: 2_500 }, (_, i) => sink.append(auditRecord(i))));
      expect((await readAll(sink)).map((r) => r.seq)).toStrictEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
    });

    it('answers invalid_request to a forged cursor or a bad time', async () => {
      const sink = makeSink();
      await sink.start();
      await expect(sink.query({ limit: 1, cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(
        sink.query({ limit: 1, cursor: Buffer.from('{"ts":"x","chain":"c","seq":1}').toString('base64url') }),
      ).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(sink.query({ limit: 1, since: 'yesterday' })).rejects.toMatchObject({ code: 'invalid_request' });
    });

    it('a failed checkpoint insert fails no record and is retried at the next batch', async () => {
      const sink = makeSink({ checkpointEveryRecords: 2 });
      await sink.start();
      const checkpoints = `${tableOf(sink)}_checkpoints`;
      await sql(
        `CREATE FUNCTION ${checkpoints}_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE ` +
          `EXCEPTION 'disk full'; END $$`,
      );
      await sql(
        `CREATE TRIGGER fail BEFORE INSERT ON ${checkpoints} FOR EACH ROW EXECUTE FUNCTION ${checkpoints}_fail()`,
      );
      await appendN(sink, 1, 2);
      expect(sink.status()).toBe('OK');
      expect(await sql(`SELECT seq FROM ${checkpoints}`)).toStrictEqual([]);
      await bypass(checkpoints, `DROP TRIGGER fail ON ${checkpoints}`, []);
      await sink.append(auditRecord(3));
      expect(await sql(`SELECT seq::int FROM ${checkpoints}`)).toStrictEqual([{ seq: 3 }]);
      expect(await verifyTrail(sink, [signer.verifier])).toMatchObject({
        ok: true,
        records: 3,
        chains: [{ records: 3, signed: 3, unsigned: 0 }],
        checkpoints: 1,
      });
    });
  });

  describe('the database goes away and comes back', () => {
    const outages: {
      note: string;
      down: () => Promise<void> | void;
      up: () => Promise<void> | void;
      withinMs: number;
    }[] = [
      { note: 'stopped', down: () => server.halt(), up: () => server.restart(), withinMs: 3_000 },
      { note: 'killed (SIGKILL)', down: () => server.kill9(), up: () => server.restart(), withinMs: 3_000 },
      // Open sockets, no answer: only the timeouts save us. The timed-out INSERT may still
      // commit once the server resumes; the next write must take that into account.
      { note: 'hung (SIGSTOP)', down: () => server.pause(), up: () => server.resume(), withinMs: 4_500 },
    ];
    // A failed assertion during an outage must not leave the database down for the next tests.
    let restore: (() => Promise<void> | void) | undefined;
    afterEach(async () => {
      await restore?.();
      restore = undefined;
    });
    for (const { note, down, up, withinMs } of outages) {
      it(`${note}: appends fail fast and coded, then the same sink carries on its chain without a gap`, async () => {
        const sink = makeSink({ checkpointEveryRecords: 3 });
        await sink.start();
        await appendN(sink, 1, 4);
        restore = up;
        await down();
        const started = Date.now();
        const failed = await Promise.allSettled([sink.append(auditRecord(5)), sink.append(auditRecord(6))]);
        expect(Date.now() - started).toBeLessThan(withinMs);
        expect(failed).toMatchObject([
          { status: 'rejected', reason: { code: 'audit_unavailable' } },
          { status: 'rejected', reason: { code: 'audit_unavailable' } },
        ]);
        expect(sink.status()).toBe('ERROR');
        await up();
        restore = undefined;
        await appendN(sink, 7, 9);
        expect(sink.status()).toBe('OK');
        await sink.stop();
        const reader = makeSink({ table: tableOf(sink) });
        await reader.start();
        const records = await readAll(reader);
        expect(records.map((r) => r.seq)).toStrictEqual(records.map((_, i) => i + 1));
        expect(records.map((r) => r.decision_id)).toEqual(expect.arrayContaining(['d1', 'd4', 'd7', 'd9']));
        expect(await verifyTrail(reader, [signer.verifier])).toMatchObject({ ok: true, chains: [{}] });
      });
    }
  });

  describe('tampering that bypasses the triggers', () => {
    const written = async (checkpointEveryRecords: number, count: number) => {
      const sink = makeSink({ checkpointEveryRecords });
      await sink.start();
      await appendN(sink, 1, count);
      await sink.stop();
      const table = tableOf(sink);
      const reader = makeSink({ table });
      await reader.start();
      return { table, chain: sink.head().chain, reader };
    };

    it('an altered record is found with its seq', async () => {
      const { table, chain, reader } = await written(1000, 5);
      await bypass(
        table,
        `UPDATE ${table} SET record = jsonb_set(record, '{allow}', 'false') WHERE chain = $1 AND seq = 3`,
        [chain],
      );
      expect(await verifyTrail(reader, [signer.verifier])).toStrictEqual({
        ok: false,
        chain,
        seq: 3,
        problem: expect.stringMatching(/altered/),
      });
    });

    it('a rewritten last record with a fresh hash is contradicted by its checkpoint', async () => {
      const { table, chain, reader } = await written(1000, 5);
      const last = (await readAll(reader)).at(-1)!;
      const forged = { ...last, allow: false };
      const resealed = { ...forged, hash: hashRecord(forged) };
      await bypass(table, `UPDATE ${table} SET record = $2::jsonb WHERE chain = $1 AND seq = 5`, [
        chain,
        JSON.stringify(resealed),
      ]);
      expect(await verifyTrail(reader, [signer.verifier])).toMatchObject({ ok: false, chain, seq: 5 });
    });

    it('a deleted tail is found as a truncation thanks to a checkpoint', async () => {
      const { table, chain, reader } = await written(3, 6);
      await bypass(table, `DELETE FROM ${table} WHERE chain = $1 AND seq = 6`, [chain]);
      expect(await verifyTrail(reader, [signer.verifier])).toStrictEqual({
        ok: false,
        chain,
        seq: 6,
        problem: expect.stringMatching(/truncated/),
      });
    });
  });
});
