import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpointSigner, type CheckpointSigner } from '../../src/audit/checkpoint.ts';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { FileTrail } from '../../src/audit/file-trail.ts';
import { checkRecordProof, ProofUnavailable, proveConsistency, proveRecord } from '../../src/audit/prove.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { runCommand } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';

const TLOG_VERIFY = `${ROOT}.tools/bin/tlog-verify`;

/** The independent Go checker's verdict on a proof document. */
function goVerdict(document: unknown): { ok: boolean; error?: string; inclusion?: number; consistency?: number } {
  const run = spawnSync(TLOG_VERIFY, { input: JSON.stringify(document), encoding: 'utf8' });
  if (run.error) throw new Error(`${TLOG_VERIFY} did not run (run bash scripts/setup.sh): ${run.error.message}`);
  return JSON.parse(run.stdout);
}

describe('proofs of one record, and between checkpoints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-prove-'));
  const path = join(dir, 'var/audit/audit.jsonl');
  let signer: CheckpointSigner;
  let chain: string;
  const trail = new FileTrail(path);

  beforeAll(async () => {
    signer = await loadCheckpointSigner(join(dir, 'var/keys/audit-checkpoint.jwk'));
    const sink = new FileAuditSink({
      path,
      signer,
      checkpointEveryRecords: 5,
      checkpointEveryMs: 3_600_000,
      maxFileBytes: 1 << 30,
    });
    await sink.start();
    for (let i = 1; i <= 12; i += 1) {
      await sink.append(auditRecord('decision', Date.now(), 'pep', { decision_id: `d${i}`, tool: 'fs_read' }));
    }
    chain = sink.head().chain;
    await sink.stop(); // 14 records with the start and close records; checkpoints at 5, 10, 14
  });

  it('proves a decision in the smallest checkpoint that covers it, and the Go checker agrees', async () => {
    const document = await proveRecord(trail, { decision_id: 'd7' }, [signer.verifier]);
    expect(document.record).toMatchObject({ decision_id: 'd7', seq: 8, chain });
    expect(checkRecordProof(document, [signer.verifier])).toMatchObject({ chain, size: 10 });
    expect(goVerdict(document.proof)).toMatchObject({ ok: true, inclusion: 1 });
    const later = await proveRecord(trail, { chain, seq: 8 }, [signer.verifier], 14);
    expect(checkRecordProof(later, [signer.verifier]).size).toBe(14);
  });

  it('refuses a proof whose record was altered, moved, or checked with another key', async () => {
    const document = await proveRecord(trail, { decision_id: 'd3' }, [signer.verifier]);
    const altered = { ...document, record: { ...document.record, tool: 'fs_delete' } };
    expect(() => checkRecordProof(altered, [signer.verifier])).toThrow(/the record was altered/);
    const inclusion = document.proof.inclusion[0]!;
    const moved = { ...document, proof: { ...document.proof, inclusion: [{ ...inclusion, index: 2 }] } };
    expect(() => checkRecordProof(moved, [signer.verifier])).toThrow(/index 2/);
    const flipped = inclusion.proof.map((h, i) => (i === 0 ? `${h[0] === '0' ? '1' : '0'}${h.slice(1)}` : h));
    const forged = { ...document, proof: { ...document.proof, inclusion: [{ ...inclusion, proof: flipped }] } };
    expect(() => checkRecordProof(forged, [signer.verifier])).toThrow();
    expect(goVerdict(forged.proof).ok).toBe(false);
    const other = await loadCheckpointSigner(join(dir, 'other.jwk.json'));
    expect(() => checkRecordProof(document, [other.verifier])).toThrow();
  });

  it('gives no proof of a record no checkpoint covers, or of one the trail lacks', async () => {
    await expect(proveRecord(trail, { decision_id: 'nope' }, [signer.verifier])).rejects.toThrow(ProofUnavailable);
    await expect(proveRecord(trail, { chain, seq: 8 }, [signer.verifier], 7)).rejects.toThrow(
      /no checkpoint of size 7/,
    );
  });

  it('proves that a later checkpoint extends an earlier one, and the Go checker agrees', async () => {
    const document = await proveConsistency(trail, chain, 5, 14, [signer.verifier]);
    expect(document.consistency[0]).toMatchObject({ old_size: 5 });
    expect(goVerdict(document)).toMatchObject({ ok: true, consistency: 1 });
    const bent = { ...document, consistency: [{ ...document.consistency[0]!, old_size: 4 }] };
    expect(goVerdict(bent).ok).toBe(false);
    await expect(proveConsistency(trail, chain, 6, 14, [signer.verifier])).rejects.toThrow(
      /no signed checkpoint of size 6/,
    );
  });

  it('on the command line: prove prints the proof, check-proof checks it with the trusted keys only', async () => {
    const keys = join(dir, 'auditor.vkeys');
    writeFileSync(keys, (await runCommand(['audit', 'keys'], dir)).stdout);
    const proved = await runCommand(['audit', 'prove', '--file', path, '--keys', keys, '--decision', 'd2'], dir);
    expect(proved.code).toBe(0);
    const file = join(dir, 'd2.proof.json');
    writeFileSync(file, proved.stdout);
    const checked = await runCommand(['audit', 'check-proof', '--keys', keys, '--proof', file], dir);
    expect(checked.stdout).toMatch(/^ok: record 3 of chain .* is in its checkpoint of size 5, signed by mcp-warden/);
    expect(checked.code).toBe(0);
    const document = JSON.parse(proved.stdout);
    writeFileSync(file, JSON.stringify({ ...document, record: { ...document.record, allow: false } }));
    const broken = await runCommand(['audit', 'check-proof', '--keys', keys, '--proof', file], dir);
    expect(broken.stderr).toMatch(/^BROKEN: the leaf hash is not the record's/);
    expect(broken.code).toBe(1);
    const missing = await runCommand(['audit', 'prove', '--file', path, '--keys', keys, '--decision', 'zz'], dir);
    expect(missing.stderr).toMatch(/the trail holds no decision zz/);
    expect(missing.code).toBe(1);
  });
});
