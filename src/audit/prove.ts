import { recordLeaf, type SealedRecord } from './chain.ts';
import { openChainCheckpoint, originOf, type SignedTreeHead } from './checkpoint.ts';
import { consistencyProof, inclusionProof, treeHash, verifyInclusion } from './merkle.ts';
import type { AuditTrail } from './record.ts';
import { formatVerifierKey, type NoteVerifier } from './signed-note.ts';

/**
 * The proof document of one checkpoint: what any C2SP verifier reads — the log's verifier
 * key, the origin, the signed checkpoint, and inclusion or consistency proofs against it
 * (hashes in hex). `interop/tlog-verify` takes it as it is.
 */
export interface CheckpointProof {
  readonly vkey: string;
  readonly origin: string;
  readonly checkpoint: string;
  readonly inclusion: readonly { readonly leaf_hash: string; readonly index: number; readonly proof: string[] }[];
  readonly consistency: readonly { readonly old_size: number; readonly old_root: string; readonly proof: string[] }[];
}

/** What `audit prove` prints: one record, and the proof that it is in a signed checkpoint of its chain. */
export interface RecordProof {
  readonly record: SealedRecord;
  readonly proof: CheckpointProof;
}

/** Which record to prove: by its decision id, or by its chain and seq. */
export type RecordSelector = { readonly decision_id: string } | { readonly chain: string; readonly seq: number };

/** A proof cannot be given: no such record, or no checkpoint covers it yet. */
export class ProofUnavailable extends Error {}

/** One chain's records and its checkpoints that the trusted keys signed, notes by size. */
interface ChainView {
  readonly records: SealedRecord[];
  readonly checkpoints: Map<number, { readonly note: string; readonly head: SignedTreeHead }>;
}

/**
 * The inclusion proof of one record in the smallest checkpoint of its chain that covers
 * it (or the one of `size`), so an auditor can be shown one decision without the trail.
 * Reads the record's whole chain: O(chain length) hashing.
 */
export async function proveRecord(
  trail: AuditTrail,
  selector: RecordSelector,
  trusted: readonly NoteVerifier[],
  size?: number,
): Promise<RecordProof> {
  const record = await findRecord(trail, selector);
  const view = await chainView(trail, record.chain, trusted);
  const leaves = view.records.map(recordLeaf);
  const signed = [...view.checkpoints.values()]
    .filter((c) => (size === undefined ? c.head.size >= record.seq : c.head.size === size))
    .sort((a, b) => a.head.size - b.head.size)[0];
  if (signed === undefined || signed.head.size < record.seq) {
    throw new ProofUnavailable(
      size === undefined
        ? `no checkpoint of chain ${record.chain} covers record ${record.seq} yet: it is in the unsigned tail`
        : `chain ${record.chain} has no checkpoint of size ${size} covering record ${record.seq}`,
    );
  }
  const index = record.seq - 1;
  const proof = inclusionProof(leaves, index, signed.head.size);
  // A proof this service hands out is checked first: a trail that does not match its checkpoint says so here.
  verifyInclusion(leaves[index] as Buffer, index, signed.head.size, proof, signed.head.root);
  return {
    record,
    proof: {
      ...documentOf(signed.note, signed.head),
      inclusion: [{ leaf_hash: hex(leaves[index] as Buffer), index, proof: proof.map(hex) }],
    },
  };
}

/** The consistency proof between two signed checkpoints of one chain: the later one extends the earlier. */
export async function proveConsistency(
  trail: AuditTrail,
  chain: string,
  from: number,
  to: number,
  trusted: readonly NoteVerifier[],
): Promise<CheckpointProof> {
  const view = await chainView(trail, chain, trusted);
  const later = view.checkpoints.get(to);
  if (later === undefined) throw new ProofUnavailable(`chain ${chain} has no signed checkpoint of size ${to}`);
  if (from !== 0 && !view.checkpoints.has(from)) {
    throw new ProofUnavailable(`chain ${chain} has no signed checkpoint of size ${from}`);
  }
  if (from > to) throw new ProofUnavailable(`--from ${from} is past --to ${to}`);
  if (view.records.length < to) throw new ProofUnavailable(`chain ${chain} holds ${view.records.length} records`);
  const leaves = view.records.map(recordLeaf);
  return {
    ...documentOf(later.note, later.head),
    consistency: [
      {
        old_size: from,
        old_root: hex(treeHash(leaves, from)),
        proof: consistencyProof(leaves, from, to).map(hex),
      },
    ],
  };
}

function documentOf(note: string, head: SignedTreeHead): CheckpointProof {
  return {
    vkey: formatVerifierKey(head.key),
    origin: originOf(head.key.name, head.chain),
    checkpoint: note,
    inclusion: [],
    consistency: [],
  };
}

async function findRecord(trail: AuditTrail, selector: RecordSelector): Promise<SealedRecord> {
  for await (const record of trail.records()) {
    const found =
      'decision_id' in selector
        ? record.decision_id === selector.decision_id && record.kind === 'decision'
        : record.chain === selector.chain && record.seq === selector.seq;
    if (found) return record;
  }
  const what =
    'decision_id' in selector
      ? `decision ${selector.decision_id}`
      : `record ${selector.seq} of chain ${selector.chain}`;
  throw new ProofUnavailable(`the trail holds no ${what}`);
}

async function chainView(trail: AuditTrail, chain: string, trusted: readonly NoteVerifier[]): Promise<ChainView> {
  const records: SealedRecord[] = [];
  for await (const record of trail.records()) if (record.chain === chain) records.push(record);
  records.sort((a, b) => a.seq - b.seq);
  const checkpoints: ChainView['checkpoints'] = new Map();
  for await (const note of trail.checkpoints()) {
    let head: SignedTreeHead;
    try {
      head = openChainCheckpoint(note, trusted);
    } catch {
      continue; // not one the trusted keys vouch for
    }
    if (head.chain === chain) checkpoints.set(head.size, { note, head });
  }
  return { records, checkpoints };
}

const hex = (b: Buffer): string => b.toString('hex');

/**
 * Checks a record proof offline, trusting only `trusted`: the checkpoint is signed by one
 * of them for the record's chain, the leaf is the record's own canonical bytes, and the
 * inclusion proof leads from it to the signed root. Throws saying what does not hold.
 */
export function checkRecordProof(document: RecordProof, trusted: readonly NoteVerifier[]): SignedTreeHead {
  const { record, proof } = document;
  const head = openChainCheckpoint(proof.checkpoint, trusted);
  if (head.chain !== record.chain) throw new Error(`the checkpoint is of chain ${head.chain}, not ${record.chain}`);
  const [inclusion] = proof.inclusion;
  if (inclusion === undefined || proof.inclusion.length !== 1) throw new Error('the proof needs one inclusion proof');
  const leaf = recordLeaf(record);
  if (inclusion.leaf_hash !== hex(leaf)) throw new Error("the leaf hash is not the record's: the record was altered");
  if (inclusion.index !== record.seq - 1)
    throw new Error(`the proof is of index ${inclusion.index}, not ${record.seq - 1}`);
  verifyInclusion(
    leaf,
    inclusion.index,
    head.size,
    inclusion.proof.map((h) => Buffer.from(h, 'hex')),
    head.root,
  );
  return head;
}
