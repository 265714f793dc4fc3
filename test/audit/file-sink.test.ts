import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashRecord } from '../../src/audit/chain.ts';
import { loadCheckpointSigner, type CheckpointSigner } from '../../src/audit/checkpoint.ts';
import { FileAuditSink, type FileSinkOptions } from '../../src/audit/file-sink.ts';
import type { AuditRecord } from '../../src/audit/record.ts';
import { verifyTrail } from '../../src/audit/verify.ts';

const record = (n: number): AuditRecord => ({
  v: 1,
  ts: new Date(n * 1000).toISOString(),
  kind: 'decision',
  decision_id: `d${n}`,
  caller: 'pep',
  principal: null,
  session: null,
  server: 's',
  method: 'ping',
  tool: null,
  allow: false,
  reasons: [],
  policy_revision: null,
});

describe('FileAuditSink', () => {
  let signer: CheckpointSigner;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-warden-audit-'));
    signer = await loadCheckpointSigner(join(dir, 'key.json'));
  });

  const sinkAt = (path: string, extra: Partial<FileSinkOptions> = {}) =>
    new FileAuditSink({
      path,
      signer,
      checkpointEveryRecords: 100,
      checkpointEveryMs: 60_000,
      maxFileBytes: 1 << 30,
      ...extra,
    });
  const lines = (path: string) =>
    readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

  it('seals every record into one chain, in order, with one write per turn; the trail verifies', async () => {
    const path = join(dir, 'a.jsonl');
    const sink = sinkAt(path);
    await sink.start();
    await Promise.all(Array.from({ length: 500 }, (_, i) => sink.append(record(i))));
    await sink.append(record(500));
    await sink.stop();
    const written = lines(path);
    // The 501 records between the chain's start record (seq 1) and its close record (seq 503).
    expect(written.map((r) => r.seq)).toEqual(Array.from({ length: 503 }, (_, i) => i + 1));
    expect(written.map((r) => r.decision_id ?? r.kind)).toEqual([
      'audit.chain_started',
      ...Array.from({ length: 501 }, (_, i) => `d${i}`),
      'audit.chain_closed',
    ]);
    expect(new Set(written.map((r) => r.chain)).size).toBe(1);
    expect(written[0]).toMatchObject({ caller: 'mcp-warden', prev: '0'.repeat(64), detail: { previous: null } });
    expect(written[1].prev).toBe(written[0].hash);
    // a checkpoint once 100 records passed (the 500 went in one batch), and one at stop
    expect(readFileSync(`${path}.checkpoints`, 'utf8').trim().split('\n')).toHaveLength(2);
    const verdict = await verifyTrail(sink, [signer.verifier]);
    expect(verdict).toMatchObject({ ok: true, records: 503, checkpoints: 2 });
    expect(verdict.ok && verdict.chains).toStrictEqual([
      { chain: written[0].chain, state: 'closed', records: 503, signed: 503, unsigned: 0 },
    ]);
  });

  it('verify finds an altered record by its sequence number', async () => {
    const path = join(dir, 'b.jsonl');
    const sink = sinkAt(path);
    await sink.start();
    for (let i = 0; i < 20; i++) await sink.append(record(i));
    await sink.stop();
    const text = readFileSync(path, 'utf8').replace('"decision_id":"d7"', '"decision_id":"dX"');
    writeFileSync(path, text);
    await expect(verifyTrail(sink, [signer.verifier])).resolves.toMatchObject({
      ok: false,
      seq: 9, // d7: after the start record and d0–d6
      problem: expect.stringContaining('altered'),
    });
  });

  it('verify finds a removed record, and a truncated tail through the checkpoint', async () => {
    const path = join(dir, 'c.jsonl');
    const sink = sinkAt(path);
    await sink.start();
    for (let i = 0; i < 20; i++) await sink.append(record(i));
    await sink.stop();
    const all = readFileSync(path, 'utf8').trim().split('\n');
    writeFileSync(path, `${[...all.slice(0, 4), ...all.slice(5)].join('\n')}\n`);
    await expect(verifyTrail(sink, [signer.verifier])).resolves.toMatchObject({ ok: false, seq: 5 });
    writeFileSync(path, `${all.slice(0, 15).join('\n')}\n`); // the last 5 records cut off: still a valid chain
    await expect(verifyTrail(sink, [signer.verifier])).resolves.toMatchObject({
      ok: false,
      seq: 16,
      problem: expect.stringContaining('truncated'),
    });
  });

  it('verify finds two swapped records, and an inserted one, by sequence number', async () => {
    const path = join(dir, 'swap.jsonl');
    const sink = sinkAt(path);
    await sink.start();
    for (let i = 0; i < 10; i++) await sink.append(record(i));
    await sink.stop();
    const all = readFileSync(path, 'utf8').trim().split('\n');
    const swapped = [...all];
    [swapped[4], swapped[5]] = [all[5] as string, all[4] as string];
    writeFileSync(path, `${swapped.join('\n')}\n`);
    await expect(verifyTrail(sink, [signer.verifier])).resolves.toMatchObject({
      ok: false,
      seq: 5,
      problem: expect.stringContaining('out of order'),
    });
    // An inserted record, forged to link correctly after record 5: the original 6 then repeats.
    const five = JSON.parse(all[4] as string);
    const { hash: _h, ...forged } = { ...five, seq: 6, prev: five.hash, decision_id: 'forged', allow: true };
    const inserted = [...all.slice(0, 5), JSON.stringify({ ...forged, hash: hashRecord(forged) }), ...all.slice(5)];
    writeFileSync(path, `${inserted.join('\n')}\n`);
    await expect(verifyTrail(sink, [signer.verifier])).resolves.toMatchObject({
      ok: false,
      seq: 6,
      problem: expect.stringContaining('second time'),
    });
  });

  it('verify refuses a checkpoint signed by another key', async () => {
    const path = join(dir, 'd.jsonl');
    const sink = sinkAt(path);
    await sink.start();
    await sink.append(record(1));
    await sink.stop();
    const other = await loadCheckpointSigner(join(dir, 'other-key.json'));
    await expect(verifyTrail(sink, [other.verifier])).resolves.toMatchObject({
      ok: false,
      problem: expect.stringContaining('does not verify'),
    });
  });

  it('rotates to numbered files, and the chain carries across them', async () => {
    const sub = mkdtempSync(join(dir, 'rot-'));
    const path = join(sub, 'audit.jsonl');
    const sink = sinkAt(path, { maxFileBytes: 4096 });
    await sink.start();
    for (let i = 0; i < 60; i++) await sink.append(record(i));
    await sink.stop();
    expect(readdirSync(sub).filter((f) => /audit\.jsonl\.\d+$/.test(f)).length).toBeGreaterThan(1);
    const kinds: string[] = [];
    for await (const r of sink.records()) kinds.push(r.kind);
    expect(kinds).toEqual([
      'audit.chain_started',
      ...Array.from({ length: 60 }, () => 'decision'),
      'audit.chain_closed',
    ]);
    await expect(verifyTrail(sink, [signer.verifier])).resolves.toMatchObject({
      ok: true,
      records: 62,
      chains: [{ state: 'closed', records: 62 }],
    });
  });

  it('queries by filter with pagination', async () => {
    const path = join(dir, 'q.jsonl');
    const sink = sinkAt(path);
    await sink.start();
    for (let i = 0; i < 30; i++)
      await sink.append({ ...record(i), allow: i % 3 === 0, tool: i % 2 === 0 ? 'fs_read' : 'fs_write' });
    const first = await sink.query({ tool: 'fs_read', allow: true, limit: 2 });
    expect(first.records.map((r) => r.decision_id)).toEqual(['d0', 'd6']);
    const second = await sink.query({ tool: 'fs_read', allow: true, limit: 10, cursor: first.next as string });
    expect(second.records.map((r) => r.decision_id)).toEqual(['d12', 'd18', 'd24']);
    expect(second.next).toBeNull();
    const window = await sink.query({
      since: new Date(10_000).toISOString(),
      until: new Date(12_000).toISOString(),
      limit: 10,
    });
    expect(window.records.map((r) => r.decision_id)).toEqual(['d10', 'd11']);
    await sink.stop();
  });

  it('fails closed when the disk is full, and recovers by itself when it can write again, without a gap', async () => {
    const sub = mkdtempSync(join(dir, 'full-'));
    const link = join(sub, 'audit.jsonl');
    symlinkSync('/dev/full', link);
    const sink = sinkAt(link);
    await sink.start();
    await expect(sink.append(record(1))).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(sink.status()).toBe('ERROR');
    await expect(sink.append(record(2))).rejects.toMatchObject({ code: 'audit_unavailable' });
    rmSync(link);
    symlinkSync(join(sub, 'real.jsonl'), link); // the disk is back
    await expect(sink.append(record(3))).resolves.toBeUndefined();
    expect(sink.status()).toBe('OK');
    await sink.stop();
    // The chain's start record, refused by the full disk, is the first one written once it is back.
    expect(lines(join(sub, 'real.jsonl')).map((r) => [r.seq, r.decision_id ?? r.kind])).toEqual([
      [1, 'audit.chain_started'],
      [2, 'd3'],
      [3, 'audit.chain_closed'],
    ]);
  });
});

describe('FileAuditSink after a crash', () => {
  it('cuts a torn last line explicitly, records the cut, and the trail verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-torn-'));
    const signer = await loadCheckpointSigner(join(dir, 'key.json'));
    const path = join(dir, 'audit.jsonl');
    const options = { path, signer, checkpointEveryRecords: 1000, checkpointEveryMs: 60_000, maxFileBytes: 1 << 30 };
    const first = new FileAuditSink(options);
    await first.start();
    for (let i = 0; i < 5; i++) await first.append(record(i));
    // The process dies mid-write: no stop, and half a line at the end.
    const torn = '{"v":1,"ts":"2026-11-23T00:00:00.000Z","kind":"deci';
    writeFileSync(path, readFileSync(path, 'utf8') + torn);
    const second = new FileAuditSink(options);
    await second.start();
    await second.append(record(99));
    await second.stop();
    const written = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(written.map((r) => r.kind)).toEqual([
      'audit.chain_started',
      'decision',
      'decision',
      'decision',
      'decision',
      'decision',
      'audit.chain_started',
      'audit.recovered',
      'decision',
      'audit.chain_closed',
    ]);
    // The new process's chain starts linked to where the first one ended, without its close record.
    expect(written[6]).toMatchObject({ seq: 1, chain: second.head().chain });
    expect(written[6].detail).toStrictEqual({
      previous: { chain: written[0].chain, records: 6, last_hash: written[5].hash, closed: false, checkpoint: null },
    });
    // The cut comes right after the start record.
    expect(written[7]).toMatchObject({ seq: 2, detail: { cut_bytes: Buffer.byteLength(torn) } });
    const verdict = await verifyTrail(second, [signer.verifier]);
    expect(verdict).toMatchObject({ ok: true, records: 10 });
    // One report per chain (in no particular order).
    const states = verdict.ok ? Object.fromEntries(verdict.chains.map((c) => [c.chain, [c.state, c.records]])) : {};
    expect(states).toStrictEqual({ [written[0].chain]: ['crashed', 6], [second.head().chain]: ['closed', 4] });
  });
});
