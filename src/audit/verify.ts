import { type ChainLink, linkIn } from './chain-link.ts';
import { ChainReplay, type ChainProblem, type SealedRecord } from './chain.ts';
import { openChainCheckpoint, type TreeHead } from './checkpoint.ts';
import { MerkleTree } from './merkle.ts';
import type { AuditTrail } from './record.ts';
import type { NoteVerifier } from './signed-note.ts';

/** A chain as `audit verify` found it. */
export interface ChainReport {
  readonly chain: string;
  /**
   * `closed`: it ends with its close record; `crashed`: it does not, and the next chain of
   * its writer recorded that; `open`: it does not, and nothing says why — still being
   * written, or ended in a crash no later chain has recorded yet.
   */
  readonly state: 'closed' | 'crashed' | 'open';
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
      /** Witnessed checkpoints checked against the trail. */
      readonly witnessed: number;
      readonly chains: readonly ChainReport[];
    }
  | { readonly ok: false; readonly chain: string; readonly seq: number; readonly problem: string };

/** One chain being replayed: its tree, the checkpoints still ahead of it (smallest first), its ends. */
interface ChainState {
  readonly tree: MerkleTree;
  readonly ahead: (TreeHead & { readonly witnessed: boolean })[];
  signed: number;
  /** What its first record says of the chain before it; undefined when it is not a start record. */
  link: ChainLink | null | undefined;
  last: SealedRecord | undefined;
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
  options: {
    readonly requireClosed?: boolean;
    /** Checkpoints a witness holds (already checked to be its cosigned ones): checked like the trail's own. */
    readonly witnessed?: readonly string[];
  } = {},
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
    stateOf(chains, head.chain).ahead.push({ ...head, witnessed: false });
  }
  for (const [i, note] of (options.witnessed ?? []).entries()) {
    let head: TreeHead;
    try {
      head = openChainCheckpoint(note, trusted);
    } catch (err) {
      return { ok: false, chain: '?', seq: 0, problem: `witnessed checkpoint ${i + 1} ${describe(err, trusted)}` };
    }
    stateOf(chains, head.chain).ahead.push({ ...head, witnessed: true });
  }
  for (const state of chains.values()) state.ahead.sort((a, b) => a.size - b.size);
  const replay = new ChainReplay();
  let records = 0;
  for await (const record of trail.records()) {
    const problem = replay.next(record);
    if (problem !== null) return problem;
    const state = stateOf(chains, record.chain);
    if (state.last?.kind === 'audit.chain_closed') {
      return { ok: false, chain: record.chain, seq: record.seq, problem: "a record after the chain's close record" };
    }
    if (record.seq === 1) state.link = linkIn(record);
    state.last = record;
    state.tree.append(replay.lastLeaf);
    records += 1;
    const contradicted = checkSigned(state, record.chain);
    if (contradicted !== null) return contradicted;
  }
  for (const [chain, state] of chains) {
    const beyond = state.ahead[0];
    if (beyond !== undefined) {
      const size = state.tree.size;
      const what = beyond.witnessed ? 'a checkpoint the witness cosigned' : 'a checkpoint';
      const problem =
        size === 0
          ? `${what} vouches for ${beyond.size} records of a chain the trail does not hold: it was deleted`
          : `the chain ends at ${size} but ${what} vouches for ${beyond.size}: the tail was truncated ` +
            '(or the trail rolled back)';
      return { ok: false, chain, seq: size + 1, problem };
    }
  }
  const crashed = new Set<string>();
  for (const [chain, state] of chains) {
    const broken = checkLink(chain, state, chains);
    if (broken !== null) return broken;
    if (state.link != null && !state.link.closed) crashed.add(state.link.chain);
  }
  const reports: ChainReport[] = [];
  // In trail order: the order chains first appear in the records.
  for (const chain of replay.heads.map((h) => h.chain)) {
    const state = chains.get(chain) as ChainState;
    const closed = state.last?.kind === 'audit.chain_closed';
    const records = state.tree.size;
    const report: ChainReport = {
      chain,
      state: closed ? 'closed' : crashed.has(chain) ? 'crashed' : 'open',
      records,
      signed: state.signed,
      unsigned: records - state.signed,
    };
    if (options.requireClosed && report.state === 'open') {
      return {
        ok: false,
        chain,
        seq: records,
        problem: 'the chain ends without its close record, and no later chain recorded a crash',
      };
    }
    reports.push(report);
  }
  return { ok: true, records, checkpoints, witnessed: options.witnessed?.length ?? 0, chains: reports };
}

/**
 * A chain must start with its start record, and the chain that record links to must be in
 * the trail and end exactly where the link says: deleting a run, or cutting the tail of
 * one that is followed by another, breaks the link.
 */
function checkLink(chain: string, state: ChainState, chains: Map<string, ChainState>): ChainProblem | null {
  const broken = (seq: number, problem: string): ChainProblem => ({ ok: false, chain, seq, problem });
  if (state.link === undefined) return broken(1, 'the chain does not start with its audit.chain_started record');
  const link = state.link;
  if (link === null) return null;
  const previous = chains.get(link.chain);
  if (previous === undefined || previous.last === undefined) {
    return broken(1, `it starts after chain ${link.chain}, which the trail does not hold: a run was deleted`);
  }
  if (previous.last.seq !== link.records || previous.last.hash !== link.last_hash) {
    return broken(
      1,
      `it found chain ${link.chain} ending at record ${link.records}, which now ends at ` +
        `${previous.last.seq}: that chain's tail was cut or rewritten`,
    );
  }
  return null;
}

/** Compares the chain's root with every checkpoint of its current size. */
function checkSigned(state: ChainState, chain: string): ChainProblem | null {
  while (state.ahead[0] !== undefined && state.ahead[0].size === state.tree.size) {
    const head = state.ahead.shift() as TreeHead & { readonly witnessed: boolean };
    if (!head.root.equals(state.tree.root())) {
      return {
        ok: false,
        chain,
        seq: head.size,
        problem: head.witnessed
          ? `records 1–${head.size} are not the ones the witness cosigned at ${head.size}: ` +
            'a forked or rewritten history'
          : `records 1–${head.size} are not the ones checkpoint ${head.size} signed ` +
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
    state = { tree: new MerkleTree(), ahead: [], signed: 0, link: undefined, last: undefined };
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
