import { describe, expect, it } from 'vitest';
import type { SealedRecord } from '../../src/audit/chain.ts';
import type { CheckpointSigner } from '../../src/audit/checkpoint.ts';
import { type CommitStorage, GroupCommit } from '../../src/audit/group-commit.ts';
import { auditRecord, type AuditRecord } from '../../src/audit/record.ts';

const signer = { sign: async (head: { size: number }) => `cp-${head.size}` } as unknown as CheckpointSigner;
const decision = (n: number) => auditRecord('decision', 0, `pep-${n}`);

/** Storage that keeps what it was given, and fails while `failing` is set. */
function storage(owedOnFailure: AuditRecord[] = []) {
  const written: SealedRecord[] = [];
  const checkpoints: string[] = [];
  const state = { failing: false, writes: 0 };
  const target: CommitStorage = {
    prepare: async (_sealer, failedBefore) => (failedBefore ? owedOnFailure.splice(0) : []),
    write: async (sealed) => {
      state.writes += 1;
      if (state.failing) throw new Error('disk full');
      written.push(...sealed);
    },
    storeCheckpoint: async (_head, signed) => {
      checkpoints.push(signed);
    },
  };
  return { target, written, checkpoints, state };
}

const commit = (target: CommitStorage, more: { rejectQueuedOnFailure?: boolean } = {}) =>
  new GroupCommit(target, {
    chain: 'c',
    signer,
    checkpointEveryRecords: 3,
    checkpointEveryMs: 60_000,
    now: () => 0,
    ...more,
  });

describe('the group commit every sink shares', () => {
  it('writes one turn of appends in one write, in order, and checkpoints on schedule and at flush', async () => {
    const s = storage();
    const c = commit(s.target);
    await Promise.all([1, 2, 3, 4].map((n) => c.append(decision(n))));
    expect(s.state.writes).toBe(1);
    expect(s.written.map((r) => [r.seq, r.caller])).toEqual([
      [1, 'pep-1'],
      [2, 'pep-2'],
      [3, 'pep-3'],
      [4, 'pep-4'],
    ]);
    expect(s.checkpoints).toEqual(['cp-4']);
    await c.append(decision(5));
    await c.flush();
    expect(s.checkpoints).toEqual(['cp-4', 'cp-5']);
    expect(c.head.seq).toBe(5);
  });

  it('rejects a failed batch and takes its seals back; what the trail is owed is written first, once', async () => {
    const recovered = auditRecord('audit.recovered', 0, 'mcp-warden');
    const s = storage([recovered]);
    const c = commit(s.target);
    await c.append(decision(1));
    s.state.failing = true;
    await expect(c.append(decision(2))).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(c.failing).toBe(true);
    // The owed record is taken on the retry after the failure, and kept when that fails too.
    await expect(c.append(decision(3))).rejects.toMatchObject({ code: 'audit_unavailable' });
    s.state.failing = false;
    await c.append(decision(4));
    expect(s.written.map((r) => [r.seq, r.kind, r.caller])).toEqual([
      [1, 'decision', 'pep-1'],
      [2, 'audit.recovered', 'mcp-warden'],
      [3, 'decision', 'pep-4'],
    ]);
    expect(c.failing).toBe(false);
  });

  it('refuses alone a record without a canonical form; its batch is written without a gap', async () => {
    const s = storage();
    const c = commit(s.target);
    const bad = auditRecord('decision', 0, 'pep-bad', { detail: { x: Number.NaN } });
    const results = await Promise.allSettled([c.append(decision(1)), c.append(bad), c.append(decision(2))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(s.written.map((r) => [r.seq, r.caller])).toEqual([
      [1, 'pep-1'],
      [2, 'pep-2'],
    ]);
  });

  it('with rejectQueuedOnFailure, fails what queued behind a failed batch at once', async () => {
    const s = storage();
    const c = new GroupCommit(s.target, {
      chain: 'c',
      signer,
      checkpointEveryRecords: 100,
      checkpointEveryMs: 60_000,
      batchMaxRecords: 1,
      rejectQueuedOnFailure: true,
      now: () => 0,
    });
    s.state.failing = true;
    const results = await Promise.allSettled([1, 2, 3].map((n) => c.append(decision(n))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(s.state.writes).toBe(1);
  });
});
