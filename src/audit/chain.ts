import { hash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import canonicalize from 'canonicalize';
import { MerkleTree, type MerkleTreeState } from './merkle.ts';
import type { AuditRecord } from './record.ts';

/** The `prev` of the first record of every chain. */
export const GENESIS = '0'.repeat(64);

/** A record once it has its place in a chain. */
export interface SealedRecord extends AuditRecord {
  readonly chain: string;
  readonly seq: number;
  readonly prev: string;
  readonly hash: string;
}

/** Where a chain stands: its last sequence number and hash. */
export interface ChainHead {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
}

/** The canonical bytes a record is sealed over: RFC 8785 JSON of the record without its `hash`. */
export function canonicalRecord(record: Omit<SealedRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = record;
  return canonicalize(rest) as string;
}

/** `sha256(prev ‖ canonical_json(record without hash))`, RFC 8785 canonical form, hex. */
export function hashRecord(record: Omit<SealedRecord, 'hash'> & { hash?: string }): string {
  return hash('sha256', record.prev + canonicalRecord(record), 'hex');
}

/** The record's leaf in its chain's Merkle tree: `SHA-256(0x00 ‖ canonical bytes)` (RFC 6962). */
export function recordLeaf(record: Omit<SealedRecord, 'hash'> & { hash?: string }): Buffer {
  return leafOfCanonical(canonicalRecord(record));
}

/**
 * The leaf of a record by its canonical form: U+0000 encodes as the one byte 0x00 in
 * UTF-8, so this is SHA-256(0x00 ‖ canonical bytes), hashed without a buffer copy.
 */
function leafOfCanonical(canonical: string): Buffer {
  return hash('sha256', `\u0000${canonical}`, 'buffer');
}

/** A new chain id: one chain per process run of one replica, never reused. */
export function newChainId(): string {
  return `${hostname()}:${new Date().toISOString()}:${randomBytes(4).toString('hex')}`;
}

/** Where a sealer stood, to take seals back to. */
export interface SealerMark {
  readonly head: ChainHead;
  readonly tree: MerkleTreeState;
  /** How many leaves were kept (`keepLeaves`). */
  readonly leaves: number;
}

/**
 * Gives records their place in one chain: a hash chain (each record names the previous
 * one's hash) and an RFC 6962 Merkle tree over the same canonical bytes, kept
 * incrementally (O(1) amortized hashing per record). Only the single writer of a chain (a
 * sink) holds a sealer, and it seals in the order it writes.
 */
export class ChainSealer {
  #head: ChainHead;
  #tree = new MerkleTree();
  /** With `keepLeaves`: the leaves sealed since the last `takeLeaves()`, for the witnesses' proofs. */
  readonly #leaves: Buffer[] | undefined;

  constructor(chain: string, options: { readonly keepLeaves?: boolean } = {}) {
    this.#head = { chain, seq: 0, hash: GENESIS };
    this.#leaves = options.keepLeaves ? [] : undefined;
  }

  seal(record: AuditRecord): SealedRecord {
    const unsealed = { ...record, chain: this.#head.chain, seq: this.#head.seq + 1, prev: this.#head.hash };
    const canonical = canonicalRecord(unsealed);
    const sealed: SealedRecord = { ...unsealed, hash: hash('sha256', unsealed.prev + canonical, 'hex') };
    this.#append(leafOfCanonical(canonical));
    this.#head = { chain: sealed.chain, seq: sealed.seq, hash: sealed.hash };
    return sealed;
  }

  /**
   * Takes a record already stored as the chain's next (one whose write was reported
   * failed but landed, or a chain taken up again); throws unless it is exactly that.
   */
  adopt(record: SealedRecord): void {
    const next = record.chain === this.#head.chain && record.seq === this.#head.seq + 1;
    if (!next || record.prev !== this.#head.hash || record.hash !== hashRecord(record)) {
      throw new Error(`record ${record.seq} of chain ${record.chain} does not follow record ${this.#head.seq}`);
    }
    this.#append(recordLeaf(record));
    this.#head = { chain: record.chain, seq: record.seq, hash: record.hash };
  }

  mark(): SealerMark {
    return { head: this.#head, tree: this.#tree.snapshot(), leaves: this.#leaves?.length ?? 0 };
  }

  /** Takes back the seals after `mark` when their write failed, so the chain has no gap. */
  rewind(to: SealerMark): void {
    this.#head = to.head;
    this.#tree = new MerkleTree(to.tree);
    this.#leaves?.splice(to.leaves);
  }

  /** The leaves sealed or adopted since the last call (with `keepLeaves`; else none). */
  takeLeaves(): Buffer[] {
    return this.#leaves?.splice(0) ?? [];
  }

  #append(leaf: Buffer): void {
    this.#tree.append(leaf);
    this.#leaves?.push(leaf);
  }

  get head(): ChainHead {
    return this.#head;
  }

  /** The Merkle tree hash of the chain at its head (`head.seq` leaves). */
  root(): Buffer {
    return this.#tree.root();
  }
}

/**
 * Seals each record of a batch in turn. A record the canonical form refuses (RFC 8785
 * has no lone surrogate and no non-finite number) is handed to `refuse` and takes no
 * place in the chain: one unsealable record never fails the group it was batched with.
 */
export function sealEach<T extends { readonly record: AuditRecord }>(
  sealer: ChainSealer,
  batch: readonly T[],
  refuse: (item: T, err: unknown) => void,
): { items: T[]; sealed: SealedRecord[] } {
  const items: T[] = [];
  const sealed: SealedRecord[] = [];
  for (const item of batch) {
    try {
      sealed.push(sealer.seal(item.record));
      items.push(item);
    } catch (err) {
      refuse(item, err);
    }
  }
  return { items, sealed };
}

/** The first problem found while replaying chains, or the count verified. */
export type ChainVerdict =
  | { readonly ok: true; readonly records: number; readonly heads: readonly ChainHead[] }
  | ChainProblem;

/** Where a replay broke, and why. */
export interface ChainProblem {
  readonly ok: false;
  readonly chain: string;
  readonly seq: number;
  readonly problem: string;
}

/**
 * Replays records (in stored order; several chains may interleave) and checks, per
 * chain, that sequence numbers run 1, 2, 3… without a gap, that each `prev` is the
 * previous `hash`, and that each `hash` is the record's own.
 */
export class ChainReplay {
  readonly #heads = new Map<string, ChainHead>();
  #lastCanonical = '';

  /**
   * Checks the next stored record; null when it follows its chain. Its Merkle leaf, from
   * the same canonical form, is then `lastLeaf`: a replay canonicalizes each record once.
   */
  next(record: SealedRecord): ChainProblem | null {
    // A tampered record may hold anything: the chain fields must have their types before
    // they are compared (an object with a broken toString would throw, not be reported).
    const bad =
      typeof record.chain !== 'string' ||
      !Number.isSafeInteger(record.seq) ||
      typeof record.prev !== 'string' ||
      typeof record.hash !== 'string';
    if (bad) {
      const chain = typeof record.chain === 'string' ? record.chain : '?';
      const seq = (this.#heads.get(chain)?.seq ?? 0) + 1;
      return { ok: false, chain, seq, problem: 'the record lacks a well-typed chain, seq, prev or hash (altered)' };
    }
    const head = this.#heads.get(record.chain) ?? { chain: record.chain, seq: 0, hash: GENESIS };
    const broken = (seq: number, problem: string): ChainProblem => ({ ok: false, chain: record.chain, seq, problem });
    if (record.seq <= head.seq) {
      return broken(record.seq, `record ${record.seq} appears a second time (inserted or duplicated)`);
    }
    if (record.seq !== head.seq + 1) {
      return broken(head.seq + 1, `record ${head.seq + 1} is missing or out of order (found ${record.seq})`);
    }
    if (record.prev !== head.hash) return broken(record.seq, 'prev does not match the previous hash');
    const canonical = canonicalRecord(record);
    if (record.hash !== hash('sha256', record.prev + canonical, 'hex')) {
      return broken(record.seq, 'the record was altered (hash mismatch)');
    }
    this.#lastCanonical = canonical;
    this.#heads.set(record.chain, { chain: record.chain, seq: record.seq, hash: record.hash });
    return null;
  }

  /** The Merkle leaf of the last record `next` accepted. */
  get lastLeaf(): Buffer {
    return leafOfCanonical(this.#lastCanonical);
  }

  /** Where each chain replayed so far ends. */
  get heads(): readonly ChainHead[] {
    return [...this.#heads.values()];
  }
}

/** Replays records with a {@link ChainReplay}: the first problem, or the count verified. */
export function verifyRecords(records: Iterable<SealedRecord>): ChainVerdict {
  const replay = new ChainReplay();
  let count = 0;
  for (const record of records) {
    const problem = replay.next(record);
    if (problem !== null) return problem;
    count += 1;
  }
  return { ok: true, records: count, heads: replay.heads };
}
