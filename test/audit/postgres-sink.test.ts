import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ChainHead, hashRecord, type SealedRecord } from '../../src/audit/chain.ts';
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

async function readAll(sink: Pick<PostgresAuditSink, 'records'>): Promise<SealedRecord[]> {
  const records: SealedRecord[] = [];
  for await (const r of sink.records()) records.push(r);
  return records;
}

/**
 * The trail a sink reads, without the chain that sink itself started (a reader started
 * after a writer stopped writes a chain of its own, linked to the writer's).
 */
function othersOf(reader: PostgresAuditSink): Pick<PostgresAuditSink, 'records' | 'checkpoints'> {
  const own = reader.head().chain;
  return {
    async *records() {
      for await (const r of reader.records()) if (r.chain !== own) yield r;
    },
    checkpoints: () => reader.checkpoints(),
  };
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

    it('takes up a reused chain id where the table stands after a crash, and never writes a closed one', async () => {
      const table = freshTable();
      const crashed = makeSink({ table, chain: 'replica-1' });
      await crashed.start();
      await appendN(crashed, 1, 2);
      // No stop: the process died. The table holds the chain's start record, d1 and d2.
      expect(crashed.head().seq).toBe(3);
      const second = makeSink({ table, chain: 'replica-1' });
      await second.start();
      await second.append(auditRecord(3));
      expect(second.head().seq).toBe(4);
      await second.stop();
      const reader = makeSink({ table });
      await reader.start();
      const records = await readAll(othersOf(reader));
      expect(new Set(records.map((r) => r.chain))).toStrictEqual(new Set(['replica-1']));
      expect(records.map((r) => r.decision_id ?? r.kind)).toStrictEqual([
        'audit.chain_started',
        'd1',
        'd2',
        'd3',
        'audit.chain_closed',
      ]);
      const third = makeSink({ table, chain: 'replica-1' });
      await expect(third.start()).rejects.toMatchObject({
        code: 'audit_unavailable',
        message: expect.stringMatching(/chain replica-1 is closed: a closed chain is never written again/),
      });
    });
  });

  describe('chain links', () => {
    it("each host's chain links only to that host's previous chain; a deleted run of one host is found", async () => {
      const table = freshTable();
      // Chain ids sort by time within a host: hostB's first run falls between hostA's two.
      const ids = {
        a1: 'hostA:2026-01-01T00:00:00.000Z:00000001',
        b1: 'hostB:2026-01-02T00:00:00.000Z:00000002',
        a2: 'hostA:2026-01-03T00:00:00.000Z:00000003',
        b2: 'hostB:2026-01-04T00:00:00.000Z:00000004',
      };
      const runs: Record<string, { start: SealedRecord; end: ChainHead }> = {};
      for (const [name, chain] of Object.entries(ids)) {
        const sink = makeSink({ table, chain });
        await sink.start();
        const [start] = (await readAll(sink)).filter((r) => r.chain === chain);
        await appendN(sink, 1, 2);
        await sink.stop();
        runs[name] = { start: start!, end: sink.head() };
      }
      const linkOf = (name: string) => runs[name]!.start.detail;
      const endOf = (name: string) => ({
        chain: ids[name as keyof typeof ids],
        records: 4,
        last_hash: runs[name]!.end.hash,
        closed: true,
        checkpoint: { size: 4, root: expect.stringMatching(/^[0-9a-f]{64}$/) },
      });
      expect(linkOf('a1')).toStrictEqual({ previous: null });
      expect(linkOf('b1')).toStrictEqual({ previous: null });
      expect(linkOf('a2')).toStrictEqual({ previous: endOf('a1') });
      expect(linkOf('b2')).toStrictEqual({ previous: endOf('b1') });
      const reader = makeSink({ table, chain: 'hostC:2026-01-05T00:00:00.000Z:00000005' });
      await reader.start();
      const verdict = await verifyTrail(othersOf(reader), [signer.verifier]);
      expect(verdict).toMatchObject({ ok: true, records: 16, checkpoints: 4 });
      expect(verdict.ok && verdict.chains.map((c) => [c.chain, c.state]).sort()).toStrictEqual(
        Object.values(ids)
          .sort()
          .map((chain) => [chain, 'closed']),
      );
      // hostA's first run deleted, records and checkpoints: hostA's second chain names the gap.
      await bypass(table, `DELETE FROM ${table} WHERE chain = $1`, [ids.a1]);
      await bypass(`${table}_checkpoints`, `DELETE FROM ${table}_checkpoints WHERE chain = $1`, [ids.a1]);
      expect(await verifyTrail(othersOf(reader), [signer.verifier])).toStrictEqual({
        ok: false,
        chain: ids.a2,
        seq: 1,
        problem: `it starts after chain ${ids.a1}, which the trail does not hold: a run was deleted`,
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
      // All rows of one statement share its transaction id; the start record went in alone, at start.
      const inserts = (where: string) =>
        sql(`SELECT count(*)::int AS rows, count(DISTINCT xmin::text)::int AS n FROM ${tableOf(sink)} WHERE ${where}`);
      expect(await inserts('seq = 1')).toStrictEqual([{ rows: 1, n: 1 }]);
      expect(await inserts('seq > 1')).toStrictEqual([{ rows: 600, n: 3 }]);
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
      expect((await readAll(sink)).map((r) => [r.seq, r.decision_id ?? r.kind])).toStrictEqual([
        [1, 'audit.chain_started'],
        [2, 'd1'],
        [3, 'd4'],
      ]);
    });

    it('reads every record back across pages of 1000', async () => {
      const sink = makeSink();
      await sink.start();
      await Promise.all(Array.from({ length: 2_500 }, (_, i) => sink.append(auditRecord(i))));
      const records = await readAll(sink);
      expect(records.map((r) => r.seq)).toStrictEqual(Array.from({ length: 2_501 }, (_, i) => i + 1));
      expect(records.map((r) => r.decision_id ?? r.kind)).toStrictEqual([
        'audit.chain_started',
        ...Array.from({ length: 2_500 }, (_, i) => `d${i}`),
      ]);
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
      // d1 (seq 2, after the start record) is due a checkpoint, and so is d2: both fail.
      await appendN(sink, 1, 2);
      expect(sink.status()).toBe('OK');
      expect(await sql(`SELECT seq FROM ${checkpoints}`)).toStrictEqual([]);
      await bypass(checkpoints, `DROP TRIGGER fail ON ${checkpoints}`, []);
      await sink.append(auditRecord(3));
      expect(await sql(`SELECT seq::int FROM ${checkpoints}`)).toStrictEqual([{ seq: 4 }]);
      expect(await verifyTrail(sink, [signer.verifier])).toMatchObject({
        ok: true,
        records: 4,
        chains: [{ state: 'open', records: 4, signed: 4, unsigned: 0 }],
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
        const trail = othersOf(reader);
        const records = await readAll(trail);
        expect(records.map((r) => r.seq)).toStrictEqual(records.map((_, i) => i + 1));
        expect(records[0]).toMatchObject({ chain: sink.head().chain, kind: 'audit.chain_started' });
        expect(records.at(-1)).toMatchObject({ chain: sink.head().chain, kind: 'audit.chain_closed' });
        expect(records.map((r) => r.decision_id)).toEqual(expect.arrayContaining(['d1', 'd4', 'd7', 'd9']));
        expect(await verifyTrail(trail, [signer.verifier])).toMatchObject({ ok: true, chains: [{ state: 'closed' }] });
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
      // Seq 3 is d2: the chain starts with its start record.
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

    it('a rewritten last decision, resealed with the close record after it: contradicted by a checkpoint', async () => {
      const { table, chain, reader } = await written(1000, 5);
      const records = (await readAll(reader)).filter((r) => r.chain === chain);
      // The start record, d1–d5 (seq 2–6), the close record (seq 7) the checkpoint at stop covers.
      expect(records.map((r) => r.kind).slice(-2)).toStrictEqual(['decision', 'audit.chain_closed']);
      const [decision, close] = records.slice(-2) as [SealedRecord, SealedRecord];
      const forged = { ...decision, allow: false };
      const resealed = { ...forged, hash: hashRecord(forged) };
      const closeAfter = { ...close, prev: resealed.hash };
      const resealedClose = { ...closeAfter, hash: hashRecord(closeAfter) };
      for (const r of [resealed, resealedClose]) {
        await bypass(table, `UPDATE ${table} SET record = $2::jsonb, hash = $4 WHERE chain = $1 AND seq = $3`, [
          chain,
          JSON.stringify(r),
          r.seq,
          r.hash,
        ]);
      }
      expect(await verifyTrail(reader, [signer.verifier])).toStrictEqual({
        ok: false,
        chain,
        seq: 7,
        problem: expect.stringMatching(/not the ones checkpoint 7 signed/),
      });
    });

    it('a deleted tail is found as a truncation thanks to a checkpoint', async () => {
      // The start record, d1–d6 (seq 2–7), the close record (seq 8); checkpoints at 3, 6 and 8 (stop).
      const { table, chain, reader } = await written(3, 6);
      await bypass(table, `DELETE FROM ${table} WHERE chain = $1 AND seq >= 7`, [chain]);
      expect(await verifyTrail(reader, [signer.verifier])).toStrictEqual({
        ok: false,
        chain,
        seq: 7,
        problem: expect.stringMatching(/ends at 6 but a checkpoint vouches for 8: the tail was truncated/),
      });
    });
  });
});
