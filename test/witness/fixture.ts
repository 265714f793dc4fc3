import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { hashLeaf, MerkleTree } from '../../src/audit/merkle.ts';
import { formatVerifierKey, type NoteSigner, noteSigner, signNote } from '../../src/audit/signed-note.ts';
import { formatCheckpoint } from '../../src/audit/tlog-checkpoint.ts';
import { ROOT } from '../helpers/paths.ts';

/** A log of the family `<name>/…`: its signing key and the leaves every chain of it holds. */
export interface TestLog {
  readonly signer: NoteSigner;
  readonly vkey: string;
  readonly leaves: readonly Buffer[];
}

/** A log key named `name` and 64 leaves. */
export function testLog(name = 'mcp-warden', salt = ''): TestLog {
  const signer = noteSigner(name, randomBytes(32));
  const leaves = Array.from({ length: 64 }, (_, i) => hashLeaf(Buffer.from(`${salt}record ${i}`)));
  return { signer, vkey: formatVerifierKey(signer), leaves };
}

/** The root of the first `size` leaves. */
export function rootOf(leaves: readonly Buffer[], size: number): Buffer {
  const tree = new MerkleTree();
  for (const leaf of leaves.slice(0, size)) tree.append(leaf);
  return tree.root();
}

/** A checkpoint note of `origin` at `size`, signed by `signers` (the log's key unless told). */
export function checkpointNote(
  log: TestLog,
  origin: string,
  size: number,
  options: { root?: Buffer; signers?: NoteSigner[]; extensions?: string[] } = {},
): string {
  const root = options.root ?? rootOf(log.leaves, size);
  const text = formatCheckpoint({ origin, size, root, extensions: options.extensions ?? [] });
  return signNote(text, options.signers ?? [log.signer]);
}

/** An add-checkpoint body: `old <n>`, the proof lines, an empty line, the note. */
export function addBody(oldSize: number, proof: readonly Buffer[], note: string): string {
  return `old ${oldSize}\n${proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${note}`;
}

/** A fresh temporary directory. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mcp-warden-witness-'));
}

const TLOG_VERIFY = join(ROOT, '.tools/bin/tlog-verify');

/**
 * Checks `checkpoint` with the Go implementation (interop/tlog-verify, on
 * transparency-dev/formats): the log's signature and every cosigner's cosignature/v1.
 */
export function goVerify(request: {
  origin: string;
  vkey: string;
  cosigner_vkeys: string[];
  checkpoint: string;
  consistency?: { old_size: number; old_root: string; proof: string[] }[];
}): { status: number | null; verdict: Record<string, unknown> } {
  expect(existsSync(TLOG_VERIFY), `${TLOG_VERIFY} is missing: run bash scripts/setup.sh`).toBe(true);
  const input = JSON.stringify({ inclusion: [], consistency: [], ...request });
  const run = spawnSync(TLOG_VERIFY, { input, encoding: 'utf8' });
  if (run.error) throw run.error;
  return { status: run.status, verdict: JSON.parse(run.stdout) };
}
