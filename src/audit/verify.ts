import { decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { verifyRecords, type SealedRecord } from './chain.ts';
import { verifyCheckpoint, type Checkpoint } from './checkpoint.ts';
import type { AuditTrail } from './record.ts';

/** What `audit verify` reports. */
export type TrailVerdict =
  | { readonly ok: true; readonly records: number; readonly chains: number; readonly checkpoints: number }
  | { readonly ok: false; readonly chain: string; readonly seq: number; readonly problem: string };

/**
 * Replays every chain of a sink and checks every signed checkpoint against it: a
 * checkpoint that does not verify, that names a record whose hash differs, or that lies
 * beyond the end of its chain (a truncated tail) is reported with its sequence number.
 */
export async function verifyTrail(
  sink: Pick<AuditTrail, 'records' | 'checkpoints'>,
  keys: JSONWebKeySet,
): Promise<TrailVerdict> {
  const expected = new Map<string, Checkpoint>(); // `${chain}\n${seq}` → checkpoint
  let checkpoints = 0;
  for await (const jws of sink.checkpoints()) {
    let checkpoint: Checkpoint;
    try {
      checkpoint = await verifyCheckpoint(jws, keys);
    } catch {
      return { ok: false, chain: '?', seq: 0, problem: unverifiedCheckpoint(jws, checkpoints + 1, keys) };
    }
    expected.set(`${checkpoint.chain}\n${checkpoint.seq}`, checkpoint);
    checkpoints += 1;
  }
  const records: SealedRecord[] = [];
  for await (const record of sink.records()) records.push(record);
  const verdict = verifyRecords(checkedAgainst(records, expected));
  if (!verdict.ok) return verdict;
  for (const checkpoint of expected.values()) {
    const head = verdict.heads.find((h) => h.chain === checkpoint.chain);
    if (head === undefined || head.seq < checkpoint.seq) {
      return {
        ok: false,
        chain: checkpoint.chain,
        seq: (head?.seq ?? 0) + 1,
        problem:
          `the chain ends at ${head?.seq ?? 0} but a checkpoint ` +
          `vouches for ${checkpoint.seq}: the tail was truncated`,
      };
    }
  }
  return { ok: true, records: verdict.records, chains: verdict.heads.length, checkpoints };
}

/** Yields the records, throwing off the replay at a record whose hash a checkpoint contradicts. */
function* checkedAgainst(records: readonly SealedRecord[], expected: Map<string, Checkpoint>): Generator<SealedRecord> {
  for (const record of records) {
    const checkpoint = expected.get(`${record.chain}\n${record.seq}`);
    // A record rewritten with a fresh, self-consistent hash still differs from what was signed.
    if (checkpoint !== undefined && checkpoint.hash !== record.hash) {
      yield { ...record, hash: 'contradicted-by-checkpoint' };
      return;
    }
    yield record;
  }
}

/** Why checkpoint `n` failed: a key the trusted set lacks (the wrong keys) or a signature that is not its key's. */
function unverifiedCheckpoint(jws: string, n: number, keys: JSONWebKeySet): string {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(jws).kid;
  } catch {
    return `checkpoint ${n} does not verify with the trusted keys: it is not a JWS`;
  }
  if (typeof kid === 'string' && !keys.keys.some((k) => k.kid === kid)) {
    return `checkpoint ${n} does not verify with the trusted keys: it is signed by key ${kid}, which they do not hold`;
  }
  return `checkpoint ${n} does not verify with the trusted keys: its signature does not match key ${String(kid)}`;
}
