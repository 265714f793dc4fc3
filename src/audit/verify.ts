import { ChainReplay, recordLeaf, type ChainProblem } from './chain.ts';
import { openChainCheckpoint, type TreeHead } from './checkpoint.ts';
import { MerkleTree } from './merkle.ts';
import type { AuditTrail } from './record.ts';
import type { NoteVerifier } from './signed-note.ts';

/** A chain as `audit verify` found it. */
export interface ChainReport {
  readonly chain: string;
  readonly records: number;
  /** The largest size a checkpoint vouches for. */
  readonly signed: number;
  /** Records after the last checkpoint: nothing but the witness can tell if such a tail was cut. */
  readonly unsigned: number;
}

/** What `audit verify` reports. */
export type TrailVerdict =
  | {
      readonly ok: true;
      readonly records: number;
      readonly checkpoints: number;
      readonly chains: readonly ChainReport[];
    }
  | { readonly ok: false; readonly chain: string; readonly seq: number; readonly problem: string };

/** One chain being replayed: its tree, and the checkpoints still ahead of it, smallest first. */
interface ChainState {
  readonly tree: MerkleTree;
  readonly ahead: TreeHead[];
  signed: number;
}

/**
 * Replays every chain of a trail and checks it against every signed checkpoint: each
 * record must follow its chain (seq, prev, hash), and the Merkle tree of each chain's
 * first N records must have the root its checkpoint of size N signed — so a record
 * altered, inserted, removed or reordered before the last checkpoint is found, even one
 * rewritten with a fresh, self-consistent hash. A checkpoint beyond its chain's end is a
 * truncated tail; one of a chain with no records, a deleted chain. Reads only.
 */
export async function verifyTrail(
  trail: Pick<AuditTrail, 'records' | 'checkpoints'>,
  trusted: readonly NoteVerifier[],
): Promise<TrailVerdict> {
  const chains = new Map<string, ChainState>();
  let checkpoints = 0;
  for await (const note of trail.checkpoints()) {
    checkpoints += 1;
    let head: TreeHead;
    try {
      head = openChainCheckpoint(note, trusted);
    } catch (err) {
      return { ok: false, chain: '?', seq: 0, problem: `checkpoint ${checkpoints} ${describe(err, trusted)}` };
    }
    stateOf(chains, head.chain).ahead.push(head);
  }
  for (const state of chains.values()) state.ahead.sort((a, b) => a.size - b.size);
  const replay = new ChainReplay();
  let records = 0;
  for await (const record of trail.records()) {
    const problem = replay.next(record);
    if (problem !== null) return problem;
    const state = stateOf(chains, record.chain);
    state.tree.append(recordLeaf(record));
    records += 1;
    const contradicted = checkSigned(state, record.chain);
    if (contradicted !== null) return contradicted;
  }
  const reports: ChainReport[] = [];
  for (const [chain, state] of chains) {
    const beyond = state.ahead[0];
    if (beyond !== undefined) {
      const size = state.tree.size;
      const problem =
        size === 0
          ? `a checkpoint vouches for ${beyond.size} records of a chain the trail does not hold: it was deleted`
          : `the chain ends at ${size} but a checkpoint vouches for ${beyond.size}: the tail was truncated`;
      return { ok: false, chain, seq: size + 1, problem };
    }
    reports.push({ chain, records: state.tree.size, signed: state.signed, unsigned: state.tree.size - state.signed });
  }
  return { ok: true, records, checkpoints, chains: reports };
}

/** Compares the chain's root with every checkpoint of its current size. */
function checkSigned(state: ChainState, chain: string): ChainProblem | null {
  while (state.ahead[0] !== undefined && state.ahead[0].size === state.tree.size) {
    const head = state.ahead.shift() as TreeHead;
    if (!head.root.equals(state.tree.root())) {
      return {
        ok: false,
        chain,
        seq: head.size,
        problem:
          `records 1–${head.size} are not the ones checkpoint ${head.size} signed ` +
          '(a record before it was altered, inserted, removed or reordered)',
      };
    }
    state.signed = head.size;
  }
  return null;
}

function stateOf(chains: Map<string, ChainState>, chain: string): ChainState {
  let state = chains.get(chain);
  if (state === undefined) {
    state = { tree: new MerkleTree(), ahead: [], signed: 0 };
    chains.set(chain, state);
  }
  return state;
}

/** Why a checkpoint did not open: not a signed note, a key the trusted set lacks, or a bad signature. */
function describe(err: unknown, trusted: readonly NoteVerifier[]): string {
  const message = err instanceof Error ? err.message : String(err);
  const names = trusted.map((v) => v.name).join(', ');
  return `does not verify with the trusted keys (${names}): ${message}`;
}
