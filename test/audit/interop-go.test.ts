import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { consistencyProof, hashLeaf, inclusionProof, MerkleTree, treeHash } from '../../src/audit/merkle.ts';
import {
  formatVerifierKey,
  type NoteSigner,
  noteSigner,
  signatureLine,
  signNote,
} from '../../src/audit/signed-note.ts';
import { formatCheckpoint } from '../../src/audit/tlog-checkpoint.ts';
import { ROOT } from '../helpers/paths.ts';

// Checkpoints, cosignatures and proofs made here are checked by an independent
// implementation: interop/tlog-verify, on transparency-dev/formats, transparency-dev/merkle
// and golang.org/x/mod/sumdb/note. It both accepts what is right and refuses what was altered,
// so a mistake on either side fails the test.
const TLOG_VERIFY = `${ROOT}.tools/bin/tlog-verify`;
const ORIGIN = 'mcp-warden.local/audit/interop';
const log = noteSigner(ORIGIN, randomBytes(32));
const witness = noteSigner('witness.mcp-warden.local/w1', randomBytes(32), 'cosignature/v1');
const COSIGNED_AT = 1_767_225_600;
const LEAVES = Array.from({ length: 1025 }, (_, i) => hashLeaf(Buffer.from(`record ${i}`)));

interface Request {
  vkey: string;
  origin: string;
  checkpoint: string;
  cosigner_vkeys: string[];
  inclusion: { leaf_hash: string; index: number; proof: string[] }[];
  consistency: { old_size: number; old_root: string; proof: string[] }[];
}

function tlogVerify(request: Request): { status: number | null; verdict: Record<string, unknown> } {
  expect(existsSync(TLOG_VERIFY), `${TLOG_VERIFY} is missing: run bash scripts/setup.sh`).toBe(true);
  const run = spawnSync(TLOG_VERIFY, { input: JSON.stringify(request), encoding: 'utf8' });
  if (run.error) throw run.error;
  return { status: run.status, verdict: JSON.parse(run.stdout) };
}

const hex = (hashes: readonly Buffer[]) => hashes.map((h) => h.toString('hex'));

/** A cosigned checkpoint of the first `size` leaves, with proofs of a few leaves and older sizes. */
function requestFor(size: number, signer: NoteSigner = log): Request {
  const tree = new MerkleTree();
  for (const leaf of LEAVES.slice(0, size)) tree.append(leaf);
  const body = formatCheckpoint({ origin: ORIGIN, size, root: tree.root() });
  const indices = new Set([0, Math.floor(size / 2), Math.floor((2 * size) / 3), size - 1]);
  const oldSizes = new Set([0, 1, Math.floor(size / 3), size - 1, size]);
  return {
    vkey: formatVerifierKey(log),
    origin: ORIGIN,
    checkpoint: signNote(body, [signer]) + signatureLine(body, witness, COSIGNED_AT),
    cosigner_vkeys: [formatVerifierKey(witness)],
    inclusion: [...indices].map((index) => ({
      leaf_hash: LEAVES[index]!.toString('hex'),
      index,
      proof: hex(inclusionProof(LEAVES, index, size)),
    })),
    consistency: [...oldSizes].map((m) => ({
      old_size: m,
      old_root: treeHash(LEAVES, m).toString('hex'),
      proof: hex(consistencyProof(LEAVES, m, size)),
    })),
  };
}

/** `hash` with its first byte changed. */
const altered = (hash: string) => (hash.startsWith('00') ? 'ff' : '00') + hash.slice(2);

describe('tlog-verify (Go) on checkpoints and proofs made here', () => {
  it.each([1, 2, 3, 7, 8, 64, 1000, 1025])('accepts the cosigned checkpoint and proofs of size %i', (size) => {
    const request = requestFor(size);
    const { status, verdict } = tlogVerify(request);
    expect(verdict).toEqual({
      ok: true,
      origin: ORIGIN,
      size,
      root: treeHash(LEAVES, size).toString('hex'),
      cosigned_at: [COSIGNED_AT],
      inclusion: request.inclusion.length,
      consistency: request.consistency.length,
    });
    expect(status).toBe(0);
  });

  it('refuses a tampered inclusion proof', () => {
    const request = requestFor(1000);
    const [first] = request.inclusion;
    first!.proof[3] = altered(first!.proof[3]!);
    const { status, verdict } = tlogVerify(request);
    expect(verdict).toMatchObject({ ok: false, error: expect.stringMatching(/^inclusion\[0\]/) });
    expect(status).toBe(1);
  });

  it('refuses a tampered consistency proof', () => {
    const request = requestFor(7);
    const last = request.consistency.find((c) => c.proof.length > 1)!;
    last.proof[1] = altered(last.proof[1]!);
    const { status, verdict } = tlogVerify(request);
    expect(verdict).toMatchObject({ ok: false, error: expect.stringMatching(/^consistency\[\d\]/) });
    expect(status).toBe(1);
  });

  it('refuses a checkpoint signed by another key of the same name', () => {
    const { status, verdict } = tlogVerify(requestFor(8, noteSigner(ORIGIN, randomBytes(32))));
    expect(verdict).toMatchObject({ ok: false, error: expect.stringMatching(/no log signature found/) });
    expect(status).toBe(1);
  });

  it('refuses a checkpoint whose size was altered after signing', () => {
    const request = requestFor(8);
    request.checkpoint = request.checkpoint.replace(`${ORIGIN}\n8\n`, `${ORIGIN}\n9\n`);
    const { status, verdict } = tlogVerify(request);
    expect(verdict).toMatchObject({ ok: false, error: expect.stringMatching(/invalid signature/) });
    expect(status).toBe(1);
  });

  it('refuses a cosignature whose timestamp was altered', () => {
    const request = requestFor(8);
    const line = request.checkpoint.slice(request.checkpoint.lastIndexOf('— '));
    const bytes = Buffer.from(line.slice(line.lastIndexOf(' ') + 1, -1), 'base64');
    bytes.writeBigUInt64BE(BigInt(COSIGNED_AT + 1), 4);
    request.checkpoint = request.checkpoint.replace(line, `— ${witness.name} ${bytes.toString('base64')}\n`);
    const { status, verdict } = tlogVerify(request);
    expect(verdict).toMatchObject({ ok: false, error: expect.stringMatching(/invalid signature/) });
    expect(status).toBe(1);
  });
});
