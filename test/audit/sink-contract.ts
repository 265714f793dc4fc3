import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS, recordLeaf, type SealedRecord } from '../../src/audit/chain.ts';
import { treeHash } from '../../src/audit/merkle.ts';
import { loadCheckpointSigner, openChainCheckpoint, type CheckpointSigner } from '../../src/audit/checkpoint.ts';
import type { AuditQuery, AuditRecord, AuditSink } from '../../src/audit/record.ts';
import { verifyTrail } from '../../src/audit/verify.ts';

/** What the contract gives every sink it opens. */
export interface ContractSinkOptions {
  readonly signer: CheckpointSigner;
  readonly checkpointEveryRecords: number;
  readonly checkpointEveryMs: number;
  readonly now: () => number;
}

/** Opens an unstarted sink on one storage; each call is another process run (a new chain) over the same records. */
export type OpenSink = (options: ContractSinkOptions) => AuditSink;

const BASE = Date.UTC(2026, 10, 23, 12, 0, 0);
const at = (seconds: number): string => new Date(BASE + seconds * 1000).toISOString();

/** A decision record at `BASE + n` seconds, with `decision_id` `d<n>`. */
export function auditRecord(n: number, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    v: 1,
    ts: at(n),
    kind: 'decision',
    decision_id: `d${n}`,
    caller: 'pep-1',
    principal: { iss: 'https://idp.test.example', sub: 'alice', client_id: 'c1' },
    session: 'a'.repeat(64),
    server: 'https://mcp.example.com/files',
    method: 'tools/call',
    tool: 'fs_read',
    allow: true,
    reasons: [],
    policy_revision: 'rev-1',
    input: { arguments: { path: '/tmp/x', n: 1.5 } },
    ...overrides,
  };
}

/** The behaviour every `AuditSink` shares: the file default and PostgreSQL run this same suite. */
export function describeAuditSinkContract(name: string, makeSink: () => Promise<OpenSink>): void {
  describe(`AuditSink contract: ${name}`, () => {
    let signer: CheckpointSigner;
    let stranger: CheckpointSigner;
    let clock = BASE;
    let keyDir: string;
    const started: AuditSink[] = [];
    beforeAll(async () => {
      keyDir = mkdtempSync(join(tmpdir(), 'mcp-warden-contract-'));
      signer = await loadCheckpointSigner(join(keyDir, 'key.json'));
      stranger = await loadCheckpointSigner(join(keyDir, 'other.json'));
    });
    afterAll(() => rmSync(keyDir, { recursive: true, force: true }));
    afterEach(async () => {
      for (const sink of started.splice(0)) await sink.stop();
      clock = BASE;
    });

    const options = (o: Partial<ContractSinkOptions> = {}): ContractSinkOptions => ({
      signer,
      checkpointEveryRecords: 1000,
      checkpointEveryMs: 3_600_000,
      now: () => clock,
      ...o,
    });
    const start = async (open: OpenSink, o?: Partial<ContractSinkOptions>): Promise<AuditSink> => {
      const sink = open(options(o));
      await sink.start();
      started.push(sink);
      return sink;
    };
    /**
     * Reads the storage back through a fresh sink, as `audit verify` would after a stop,
     * without the chain that sink itself starts.
     */
    const readBack = async (open: OpenSink) => {
      const sink = await start(open);
      const own = sink.head().chain;
      const reader = {
        async *records() {
          for await (const r of sink.records()) if (r.chain !== own) yield r;
        },
        checkpoints: () => sink.checkpoints(),
      };
      const records: SealedRecord[] = [];
      for await (const r of reader.records()) records.push(r);
      const checkpoints = [];
      for await (const note of reader.checkpoints()) checkpoints.push(openChainCheckpoint(note, [signer.verifier]));
      return { records, checkpoints, verdict: await verifyTrail(reader, [signer.verifier]), reader };
    };
    /** The records a test appended: without each chain's start and close records. */
    const appendedOf = (records: readonly SealedRecord[]) =>
      records.filter((r) => r.kind !== 'audit.chain_started' && r.kind !== 'audit.chain_closed');

    it('starts a new chain with its start record, linked to nothing on empty storage', async () => {
      const sink = await start(await makeSink());
      expect(sink.status()).toBe('OK');
      expect(sink.head()).toMatchObject({ seq: 1 });
      const all: SealedRecord[] = [];
      for await (const r of sink.records()) all.push(r);
      const [first] = all;
      expect(first).toMatchObject({ kind: 'audit.chain_started', seq: 1, prev: GENESIS, detail: { previous: null } });
    });

    it('gives records back sealed, in order, between its start and close records, and the trail verifies', async () => {
      const open = await makeSink();
      const sink = await start(open);
      const appended = Array.from({ length: 10 }, (_, i) => auditRecord(i));
      for (const r of appended) await sink.append(r);
      const { chain } = sink.head();
      await sink.stop();
      const { records, verdict } = await readBack(open);
      expect(records.map((r) => r.seq)).toStrictEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(records.map((r) => r.kind)).toStrictEqual([
        'audit.chain_started',
        ...appended.map(() => 'decision'),
        'audit.chain_closed',
      ]);
      for (const [i, r] of records.slice(1, 11).entries()) {
        expect(r).toStrictEqual({ ...appended[i], chain, seq: i + 2, prev: records[i]!.hash, hash: r.hash });
      }
      expect(sink.head()).toStrictEqual({ chain, seq: 12, hash: records[11]!.hash });
      expect(verdict).toMatchObject({
        ok: true,
        records: 12,
        checkpoints: 1,
        chains: [{ state: 'closed', records: 12, unsigned: 0 }],
      });
    });

    it('accepts 500 concurrent appends into one chain without a gap, in append order', async () => {
      const open = await makeSink();
      const sink = await start(open);
      const results = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => sink.append(auditRecord(i))));
      expect(results.filter((r) => r.status === 'rejected')).toStrictEqual([]);
      expect(sink.head().seq).toBe(501);
      await sink.stop();
      const { records, verdict } = await readBack(open);
      expect(new Set(records.map((r) => r.chain)).size).toBe(1);
      expect(records.map((r) => r.seq)).toStrictEqual(Array.from({ length: 502 }, (_, i) => i + 1));
      const ids = appendedOf(records).map((r) => r.decision_id);
      expect(ids).toStrictEqual(Array.from({ length: 500 }, (_, i) => `d${i}`));
      expect(verdict).toMatchObject({ ok: true, records: 502, chains: [{ records: 502 }] });
    });

    it('flushes pending appends on stop, before its close record', async () => {
      const open = await makeSink();
      const sink = await start(open);
      const appends = [1, 2, 3].map((n) => sink.append(auditRecord(n)));
      await sink.stop();
      await expect(Promise.all(appends)).resolves.toBeDefined();
      const { records } = await readBack(open);
      expect(records.map((r) => r.decision_id ?? r.kind)).toStrictEqual([
        'audit.chain_started',
        'd1',
        'd2',
        'd3',
        'audit.chain_closed',
      ]);
    });

    it('a restarted sink writes a new chain beside the first, linked to where the first ended', async () => {
      const open = await makeSink();
      const first = await start(open);
      for (const n of [1, 2, 3]) await first.append(auditRecord(n));
      await first.stop();
      const second = await start(open);
      for (const n of [4, 5]) await second.append(auditRecord(n));
      expect(second.head().chain).not.toBe(first.head().chain);
      await second.stop();
      const { records, verdict } = await readBack(open);
      const secondChain = records.filter((r) => r.chain === second.head().chain);
      expect(secondChain.map((r) => r.seq)).toStrictEqual([1, 2, 3, 4]);
      expect(secondChain[0]!.detail).toStrictEqual({
        previous: {
          chain: first.head().chain,
          records: 5,
          last_hash: first.head().hash,
          closed: true,
          checkpoint: { size: 5, root: expect.stringMatching(/^[0-9a-f]{64}$/) },
        },
      });
      expect(verdict).toMatchObject({ ok: true, records: 9, checkpoints: 2 });
      expect(verdict.ok && verdict.chains.map((c) => [c.state, c.unsigned])).toEqual([
        ['closed', 0],
        ['closed', 0],
      ]);
    });

    describe('query', () => {
      const S1 = '1'.repeat(64);
      const S2 = '2'.repeat(64);
      const who = (sub: string, client_id: string | null) => ({ iss: 'https://idp.test.example', sub, client_id });
      // Appended oldest first; c and d share a timestamp, so the order between them is the chain's.
      const population: Record<string, AuditRecord> = {
        a: auditRecord(0, { principal: who('alice', 'c1'), session: S1, tool: 'fs_read', server: 's1', allow: true }),
        b: auditRecord(1, { principal: who('alice', 'c2'), session: S1, tool: 'fs_write', server: 's1', allow: false }),
        c: auditRecord(2, { principal: who('bob', 'c1'), session: S2, tool: 'fs_read', server: 's2', allow: true }),
        d: auditRecord(2, {
          principal: who('bob', null),
          session: S2,
          tool: null,
          server: 's2',
          allow: null,
          kind: 'session.created',
          decision_id: null,
        }),
        e: auditRecord(3, {
          principal: null,
          session: null,
          tool: null,
          server: null,
          allow: null,
          kind: 'policy.activated',
          decision_id: null,
          method: null,
        }),
        f: auditRecord(4, {
          principal: who('alice', 'c1'),
          session: null,
          tool: 'fs_read',
          server: 's2',
          allow: null,
          kind: 'session.revoked',
        }),
      };
      type Name = keyof typeof population | 'start';
      const cases: { note: string; query: Omit<AuditQuery, 'limit'>; want: Name[] }[] = [
        // `start`: the chain's start record, written at start (at 0).
        { note: 'everything', query: {}, want: ['start', 'a', 'b', 'c', 'd', 'e', 'f'] },
        { note: 'by session', query: { session: S1 }, want: ['a', 'b'] },
        { note: 'by subject', query: { subject: 'alice' }, want: ['a', 'b', 'f'] },
        { note: 'by client', query: { client_id: 'c1' }, want: ['a', 'c', 'f'] },
        { note: 'by tool', query: { tool: 'fs_read' }, want: ['a', 'c', 'f'] },
        { note: 'by server', query: { server: 's2' }, want: ['c', 'd', 'f'] },
        { note: 'by kind', query: { kind: 'session.created' }, want: ['d'] },
        { note: 'allowed', query: { allow: true }, want: ['a', 'c'] },
        { note: 'denied', query: { allow: false }, want: ['b'] },
        { note: 'since (inclusive)', query: { since: at(2) }, want: ['c', 'd', 'e', 'f'] },
        { note: 'until (exclusive)', query: { until: at(2) }, want: ['start', 'a', 'b'] },
        { note: 'in a time range', query: { since: at(1), until: at(3) }, want: ['b', 'c', 'd'] },
        { note: 'by subject and tool', query: { subject: 'alice', tool: 'fs_read' }, want: ['a', 'f'] },
        { note: 'by subject, server and allow', query: { subject: 'alice', server: 's1', allow: false }, want: ['b'] },
        { note: 'matching nothing', query: { subject: 'dave' }, want: [] },
      ];

      const populated = async () => {
        const sink = await start(await makeSink());
        for (const r of Object.values(population)) await sink.append(r);
        const all: SealedRecord[] = [];
        for await (const r of sink.records()) all.push(r);
        const sealed = Object.fromEntries(['start', ...Object.keys(population)].map((n, i) => [n, all[i]!])) as Record<
          Name,
          SealedRecord
        >;
        return { sink, sealed };
      };

      for (const { note, query, want } of cases) {
        it(`${note}: exactly the matching records, oldest first, page by page`, async () => {
          const { sink, sealed } = await populated();
          expect(await sink.query({ ...query, limit: 100 })).toStrictEqual({
            records: want.map((n) => sealed[n]),
            next: null,
          });
          for (const limit of [1, 2, 4]) {
            const pages: SealedRecord[][] = [];
            let cursor: string | undefined;
            do {
              const page = await sink.query({ ...query, limit, cursor });
              pages.push([...page.records]);
              cursor = page.next ?? undefined;
            } while (cursor !== undefined && pages.length <= 10);
            expect(pages.flat()).toStrictEqual(want.map((n) => sealed[n]));
            // Full pages, then the rest; `next` is null on the last page.
            expect(pages.map((p) => p.length)).toStrictEqual(pageSizes(want.length, limit));
          }
        });
      }
    });

    describe('checkpoints', () => {
      it('signs one every N records and one at stop, and they verify', async () => {
        const open = await makeSink();
        const sink = await start(open, { checkpointEveryRecords: 5 });
        for (let n = 1; n <= 12; n += 1) await sink.append(auditRecord(n));
        await sink.stop();
        const { records, checkpoints, verdict } = await readBack(open);
        // 12 records between the chain's start and close records.
        expect(checkpoints.map((c) => c.size)).toStrictEqual([5, 10, 14]);
        // Each checkpoint signs the Merkle root of the records up to its size.
        for (const c of checkpoints) {
          expect(c.chain).toBe(sink.head().chain);
          expect(c.root).toEqual(treeHash(records.slice(0, c.size).map(recordLeaf), c.size));
        }
        expect(verdict).toMatchObject({ ok: true, records: 14, checkpoints: 3, chains: [{ signed: 14, unsigned: 0 }] });
      });

      it('signs one when the interval has passed, at the next write', async () => {
        const open = await makeSink();
        const sink = await start(open, { checkpointEveryMs: 10_000 });
        await sink.append(auditRecord(1));
        clock += 10_000;
        await sink.append(auditRecord(2));
        await sink.append(auditRecord(3));
        await sink.stop();
        const { checkpoints } = await readBack(open);
        // The start record (1) and d1 (2) before the interval passed; d2 (3) after it; d3, close.
        expect(checkpoints.map((c) => c.size)).toStrictEqual([3, 5]);
      });

      it('signs at stop what the last one does not cover: the close record, even of an idle run', async () => {
        const open = await makeSink();
        const sink = await start(open, { checkpointEveryRecords: 5 });
        for (let n = 1; n <= 4; n += 1) await sink.append(auditRecord(n));
        await sink.stop();
        const idle = await start(open);
        await idle.stop();
        const { checkpoints, verdict } = await readBack(open);
        const sizes = (chain: string) => checkpoints.filter((c) => c.chain === chain).map((c) => c.size);
        expect(sizes(sink.head().chain)).toStrictEqual([5, 6]);
        expect(sizes(idle.head().chain)).toStrictEqual([2]);
        expect(verdict).toMatchObject({ ok: true, records: 8 });
      });

      it('does not verify with keys that did not sign them', async () => {
        const open = await makeSink();
        const sink = await start(open);
        await sink.append(auditRecord(1));
        await sink.stop();
        const { reader } = await readBack(open);
        expect(await verifyTrail(reader, [stranger.verifier])).toMatchObject({
          ok: false,
          problem: expect.stringMatching(/does not verify/),
        });
      });
    });
  });
}

/** Sizes of the pages of `total` results at `limit` per page (one empty page when there are none). */
function pageSizes(total: number, limit: number): number[] {
  if (total === 0) return [0];
  return Array.from({ length: Math.ceil(total / limit) }, (_, i) => Math.min(limit, total - i * limit));
}
