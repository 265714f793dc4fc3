import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashRecord, recordLeaf, type SealedRecord, verifyRecords } from '../../src/audit/chain.ts';
import { chainClosedRecord } from '../../src/audit/chain-link.ts';
import { type CheckpointSigner, loadCheckpointSigner, openChainCheckpoint } from '../../src/audit/checkpoint.ts';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { FileTrail } from '../../src/audit/file-trail.ts';
import { treeHash } from '../../src/audit/merkle.ts';
import { verifyTrail } from '../../src/audit/verify.ts';
import { auditRecord } from './sink-contract.ts';

/**
 * The links between the chains of one writer: each chain starts with its
 * `audit.chain_started` record, which names where the writer's previous chain ended, and
 * a clean stop ends it with `audit.chain_closed`. Real file sinks on temp dirs; every
 * tampering is done on the files as an attacker without the checkpoint key would.
 */
describe('chain links (file sink)', () => {
  let dir: string;
  let signer: CheckpointSigner;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-warden-chain-link-'));
    signer = await loadCheckpointSigner(join(dir, 'key.json'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let files = 0;
  /** A fresh trail file of its own. */
  const freshPath = () => join(dir, `trail-${++files}.jsonl`);
  const sinkAt = (path: string, checkpointEveryRecords = 1000) =>
    new FileAuditSink({ path, signer, checkpointEveryRecords, checkpointEveryMs: 3_600_000, maxFileBytes: 1 << 30 });
  /** One process run: a sink started, `count` decisions, a clean stop; its chain id. */
  const run = async (path: string, count: number, checkpointEveryRecords?: number): Promise<string> => {
    const sink = sinkAt(path, checkpointEveryRecords);
    await sink.start();
    for (let n = 1; n <= count; n += 1) await sink.append(auditRecord(n));
    await sink.stop();
    return sink.head().chain;
  };
  const records = (path: string): SealedRecord[] =>
    readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SealedRecord);
  const writeRecords = (path: string, rs: readonly SealedRecord[]) =>
    writeFileSync(path, rs.map((r) => `${JSON.stringify(r)}\n`).join(''));
  /** The checkpoint lines, each with the chain and size it signs. */
  const checkpoints = (path: string) =>
    readFileSync(`${path}.checkpoints`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => ({ line, ...openChainCheckpoint(JSON.parse(line).note as string, [signer.verifier]) }));
  const keepCheckpoints = (path: string, keep: (c: { chain: string; size: number }) => boolean) =>
    writeFileSync(
      `${path}.checkpoints`,
      checkpoints(path)
        .filter(keep)
        .map((c) => `${c.line}\n`)
        .join(''),
    );
  const verify = (path: string, requireClosed = false) =>
    verifyTrail(new FileTrail(path), [signer.verifier], { requireClosed });
  /** Each chain's state and record count, by chain id (the reports come in no particular order). */
  const statesOf = async (path: string, requireClosed = false) => {
    const verdict = await verify(path, requireClosed);
    expect(verdict).toMatchObject({ ok: true });
    return verdict.ok ? Object.fromEntries(verdict.chains.map((c) => [c.chain, [c.state, c.records]])) : {};
  };
  /** `record` sealed again after `prev`, as an attacker rewriting the file would. */
  const reseal = (record: SealedRecord, fields: Partial<SealedRecord>): SealedRecord => {
    const { hash: _old, ...rest } = { ...record, ...fields };
    return { ...rest, hash: hashRecord(rest) };
  };
  /** Reseals `rs` as one chain from `seq` 1, each after the one before. */
  const resealFromOne = (rs: readonly SealedRecord[]): SealedRecord[] => {
    const out: SealedRecord[] = [];
    for (const [i, r] of rs.entries()) out.push(reseal(r, { seq: i + 1, prev: out[i - 1]?.hash ?? '0'.repeat(64) }));
    return out;
  };

  it('three runs in one file: each chain links to where the one before ended; all closed, it verifies', async () => {
    const path = freshPath();
    const chains = [await run(path, 3), await run(path, 2), await run(path, 4)];
    const all = records(path);
    const of = (chain: string) => all.filter((r) => r.chain === chain);
    expect(chains.map((c) => of(c).map((r) => r.kind))).toStrictEqual(
      [3, 2, 4].map((n) => [
        'audit.chain_started',
        ...Array.from({ length: n }, () => 'decision'),
        'audit.chain_closed',
      ]),
    );
    expect(of(chains[0]!)[0]!.detail).toStrictEqual({ previous: null });
    for (const [i, chain] of chains.entries()) {
      if (i === 0) continue;
      const before = of(chains[i - 1]!);
      const last = before.at(-1)!;
      // The checkpoint signed at the previous stop covers its close record: the whole chain.
      const root = treeHash(before.map(recordLeaf), before.length).toString('hex');
      expect(of(chain)[0]).toMatchObject({ seq: 1, caller: 'mcp-warden', prev: '0'.repeat(64) });
      expect(of(chain)[0]!.detail).toStrictEqual({
        previous: {
          chain: chains[i - 1],
          records: before.length,
          last_hash: last.hash,
          closed: true,
          checkpoint: { size: before.length, root },
        },
      });
    }
    await expect(verify(path, true)).resolves.toMatchObject({ ok: true, records: 15, checkpoints: 3 });
    expect(await statesOf(path)).toStrictEqual({
      [chains[0]!]: ['closed', 5],
      [chains[1]!]: ['closed', 4],
      [chains[2]!]: ['closed', 6],
    });

    // The link is a record like any other: rewriting it, even resealing its chain, is found.
    const third = of(chains[2]!);
    const relinked = resealFromOne([
      { ...third[0]!, detail: { previous: { ...(third[0]!.detail!.previous as object), records: 3 } } },
      ...third.slice(1),
    ]);
    writeRecords(path, [...all.filter((r) => r.chain !== chains[2]), ...relinked]);
    await expect(verify(path)).resolves.toStrictEqual({
      ok: false,
      chain: chains[2],
      seq: 6,
      problem: expect.stringMatching(/^records 1–6 are not the ones checkpoint 6 signed/),
    });
  });

  it('a crash, then a restart: the next chain records the crash; only an open chain fails requireClosed', async () => {
    const path = freshPath();
    // A run that dies: started and written to, never stopped, its file left as it was.
    const abandoned = sinkAt(path);
    await abandoned.start();
    for (let n = 1; n <= 3; n += 1) await abandoned.append(auditRecord(n));
    const crashed = abandoned.head().chain;
    // Until a later chain says so, nothing tells a crash from a run still being written.
    expect(await statesOf(path)).toStrictEqual({ [crashed]: ['open', 4] });

    const restarted = sinkAt(path);
    await restarted.start();
    await restarted.append(auditRecord(4));
    const next = restarted.head().chain;
    const [start] = records(path).filter((r) => r.chain === next);
    expect(start!.detail).toStrictEqual({
      previous: { chain: crashed, records: 4, last_hash: abandoned.head().hash, closed: false, checkpoint: null },
    });
    expect(await statesOf(path)).toStrictEqual({ [crashed]: ['crashed', 4], [next]: ['open', 2] });
    // The crashed chain is no reason to fail: its crash is recorded. The open one is.
    await expect(verify(path, true)).resolves.toStrictEqual({
      ok: false,
      chain: next,
      seq: 2,
      problem: 'the chain ends without its close record, and no later chain recorded a crash',
    });
    await restarted.stop();
    expect(await statesOf(path, true)).toStrictEqual({ [crashed]: ['crashed', 4], [next]: ['closed', 3] });

    // Hiding the crash afterwards: a close record forged onto the crashed chain, sealed to follow it.
    const all = records(path);
    const end = all.findLastIndex((r) => r.chain === crashed);
    const forged = reseal(
      { ...chainClosedRecord(Date.now()), chain: crashed, seq: 0, prev: '', hash: '' },
      { seq: all[end]!.seq + 1, prev: all[end]!.hash },
    );
    writeRecords(path, [...all.slice(0, end + 1), forged, ...all.slice(end + 1)]);
    await expect(verify(path)).resolves.toStrictEqual({
      ok: false,
      chain: next,
      seq: 1,
      problem:
        `it found chain ${crashed} ending at record 4, which now ends at 5: ` +
        "that chain's tail was cut or rewritten",
    });
  });

  it('a whole middle run deleted, its records and its checkpoints: BROKEN at the next chain', async () => {
    const path = freshPath();
    const chains = [await run(path, 2), await run(path, 3), await run(path, 2)];
    await expect(verify(path, true)).resolves.toMatchObject({ ok: true, records: 13, checkpoints: 3 });
    writeRecords(
      path,
      records(path).filter((r) => r.chain !== chains[1]),
    );
    keepCheckpoints(path, (c) => c.chain !== chains[1]);
    // What is left is two whole, signed chains: only the link says one is missing between them.
    await expect(verify(path)).resolves.toStrictEqual({
      ok: false,
      chain: chains[2],
      seq: 1,
      problem: `it starts after chain ${chains[1]}, which the trail does not hold: a run was deleted`,
    });
  });

  it('the tail of a run cut, and its checkpoints beyond: BROKEN at the chain that follows it', async () => {
    const path = freshPath();
    // A checkpoint every 2 records: the cut leaves the ones it does not reach.
    const chains = [await run(path, 5, 2), await run(path, 2)];
    const all = records(path);
    expect(all.filter((r) => r.chain === chains[0])).toHaveLength(7);
    expect(checkpoints(path).map((c) => [c.chain, c.size])).toStrictEqual([
      [chains[0], 2],
      [chains[0], 4],
      [chains[0], 6],
      [chains[0], 7],
      [chains[1], 4],
    ]);
    const signed = readFileSync(`${path}.checkpoints`, 'utf8');
    // The last decision and the close record of the first run go, and the checkpoints past record 5.
    writeRecords(
      path,
      all.filter((r) => r.chain !== chains[0] || r.seq <= 5),
    );
    keepCheckpoints(path, (c) => c.chain !== chains[0] || c.size <= 5);
    await expect(verify(path)).resolves.toStrictEqual({
      ok: false,
      chain: chains[1],
      seq: 1,
      problem:
        `it found chain ${chains[0]} ending at record 7, which now ends at 5: ` +
        "that chain's tail was cut or rewritten",
    });

    // The same cut of the last run: no chain follows to tell, but it is left without its close record.
    writeRecords(
      path,
      all.filter((r) => r.chain !== chains[1] || r.seq <= 2),
    );
    writeFileSync(`${path}.checkpoints`, signed);
    keepCheckpoints(path, (c) => c.chain !== chains[1]);
    expect(await statesOf(path)).toStrictEqual({ [chains[0]!]: ['closed', 7], [chains[1]!]: ['open', 2] });
    await expect(verify(path, true)).resolves.toStrictEqual({
      ok: false,
      chain: chains[1],
      seq: 2,
      problem: 'the chain ends without its close record, and no later chain recorded a crash',
    });
  });

  it('a record forged after a close record, sealed so the hash chain holds: BROKEN', async () => {
    const path = freshPath();
    const chain = await run(path, 2);
    const all = records(path);
    const close = all.at(-1)!;
    expect(close).toMatchObject({ kind: 'audit.chain_closed', seq: 4 });
    const forged = reseal(all[1]!, { decision_id: 'forged', seq: 5, prev: close.hash });
    expect(verifyRecords([...all, forged])).toMatchObject({ ok: true, records: 5 });
    writeRecords(path, [...all, forged]);
    await expect(verify(path)).resolves.toStrictEqual({
      ok: false,
      chain,
      seq: 5,
      problem: "a record after the chain's close record",
    });
  });

  it("a chain's start record removed, the rest resealed from seq 1: BROKEN, by a checkpoint or the start", async () => {
    const path = freshPath();
    const chain = await run(path, 4, 2);
    const resealed = resealFromOne(records(path).slice(1));
    expect(resealed.map((r) => [r.seq, r.kind])).toStrictEqual([
      [1, 'decision'],
      [2, 'decision'],
      [3, 'decision'],
      [4, 'decision'],
      [5, 'audit.chain_closed'],
    ]);
    expect(verifyRecords(resealed)).toMatchObject({ ok: true, records: 5 });
    writeRecords(path, resealed);
    await expect(verify(path)).resolves.toStrictEqual({
      ok: false,
      chain,
      seq: 2,
      problem: expect.stringMatching(/^records 1–2 are not the ones checkpoint 2 signed/),
    });
    // The checkpoints deleted too: the chain still must begin with its start record.
    writeFileSync(`${path}.checkpoints`, '');
    await expect(verify(path)).resolves.toStrictEqual({
      ok: false,
      chain,
      seq: 1,
      problem: 'the chain does not start with its audit.chain_started record',
    });
  });
});
