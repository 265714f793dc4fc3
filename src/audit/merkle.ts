import { hash } from 'node:crypto';

/**
 * RFC 6962 Merkle trees (as restated in RFC 9162 §2.1): the tree hash, an incremental
 * tree that keeps only its right edge, and inclusion and consistency proofs.
 *
 * Sizes and indices are numbers: safe integers only (a tree of 2^53 leaves is centuries
 * of records away). Arithmetic avoids the bitwise operators, which truncate to 32 bits.
 */

/** Bytes in every hash of the tree (SHA-256). */
export const HASH_SIZE = 32;

/** The hash of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Buffer = sha256(Buffer.alloc(0));

/** Leaf hashes `0 … size-1` of a tree: an array, or an accessor (a sink reading its store). */
export type LeafHashes = readonly Uint8Array[] | ((index: number) => Uint8Array);

/** Why a proof was refused. */
export type ProofErrorCode = 'proof_malformed' | 'root_mismatch';

/** A proof that does not verify: malformed for its sizes, or leading to another root. */
export class ProofError extends Error {
  readonly code: ProofErrorCode;
  constructor(code: ProofErrorCode, message: string) {
    super(message);
    this.name = 'ProofError';
    this.code = code;
  }
}

/** `SHA-256(0x00 ‖ data)`, the hash of a leaf's entry (RFC 9162 §2.1.1). */
export function hashLeaf(data: Uint8Array): Buffer {
  return sha256(Buffer.concat([LEAF_PREFIX, data]));
}

/** `SHA-256(0x01 ‖ left ‖ right)`, the hash of an interior node (RFC 9162 §2.1.1). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(1 + 2 * HASH_SIZE);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + HASH_SIZE);
  return sha256(buf);
}

/** MTH of the first `size` leaves, by the recursive definition of RFC 9162 §2.1.1: O(size) hashes. */
export function treeHash(leaves: LeafHashes, size: number): Buffer {
  const leaf = accessor(leaves, size);
  return Buffer.from(size === 0 ? EMPTY_ROOT : rangeHash(leaf, 0, size));
}

/** The state a sink persists to resume a tree: its size and right edge, hex. */
export interface MerkleTreeState {
  readonly size: number;
  readonly edge: readonly string[];
}

/**
 * An append-only tree holding only its right edge (a compact range): the roots of the
 * perfect subtrees the binary digits of `size` stand for, largest first.
 */
export class MerkleTree {
  readonly #edge: Buffer[];
  #size: number;

  constructor(state: MerkleTreeState = { size: 0, edge: [] }) {
    if (!Number.isSafeInteger(state.size) || state.size < 0) throw new TypeError(`tree size ${state.size} is invalid`);
    if (state.edge.length !== onesIn(state.size))
      throw new TypeError(
        `a tree of size ${state.size} has ${onesIn(state.size)} edge hashes, not ${state.edge.length}`,
      );
    this.#edge = state.edge.map((h) => {
      if (!/^[0-9a-f]{64}$/.test(h)) throw new TypeError(`edge hash ${JSON.stringify(h)} is not 64 hex digits`);
      return Buffer.from(h, 'hex');
    });
    this.#size = state.size;
  }

  /** Adds a leaf by its hash (`hashLeaf(entry)`) and returns its index: O(1) amortized. */
  append(leafHash: Uint8Array): number {
    if (leafHash.length !== HASH_SIZE)
      throw new TypeError(`a leaf hash has ${HASH_SIZE} bytes, not ${leafHash.length}`);
    let node: Buffer = Buffer.from(leafHash);
    // Each trailing 1 digit of the size is a perfect subtree as large as the one being
    // carried: merge them, as in binary addition.
    for (let s = this.#size; s % 2 === 1; s = (s - 1) / 2) node = hashChildren(this.#edge.pop()!, node);
    this.#edge.push(node);
    return this.#size++;
  }

  /** Leaves appended so far. */
  get size(): number {
    return this.#size;
  }

  /** The tree hash at the current size: the edge folded right to left, O(log size). */
  root(): Buffer {
    const last = this.#edge.at(-1);
    if (!last) return Buffer.from(EMPTY_ROOT);
    // A copy: a perfect tree's root is its one edge hash, which the tree must keep to itself.
    return Buffer.from(this.#edge.slice(0, -1).reduceRight((right, left) => hashChildren(left, right), last));
  }

  /** The state to persist; `new MerkleTree(state)` resumes from it. */
  snapshot(): MerkleTreeState {
    return { size: this.#size, edge: this.#edge.map((h) => h.toString('hex')) };
  }
}

/**
 * The audit path of leaf `index` in the tree of the first `size` leaves, PATH of
 * RFC 9162 §2.1.3.1. The sibling subtrees are disjoint, so one proof costs at most
 * `size` hashes.
 */
export function inclusionProof(leaves: LeafHashes, index: number, size: number): Buffer[] {
  const leaf = accessor(leaves, size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size)
    throw new RangeError(`leaf index ${index} is not in a tree of size ${size}`);
  const path: Buffer[] = [];
  // Walk down from the root, collecting siblings; they are listed bottom-up.
  let [lo, hi, m] = [0, size, index];
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < k) {
      path.push(Buffer.from(rangeHash(leaf, lo + k, hi)));
      hi = lo + k;
    } else {
      path.push(Buffer.from(rangeHash(leaf, lo, lo + k)));
      lo += k;
      m -= k;
    }
  }
  return path.reverse();
}

/**
 * The proof that the tree of the first `m` leaves is a prefix of the tree of the first
 * `n`, PROOF of RFC 9162 §2.1.4.1 (empty when `m` is 0 or `m == n`). At most `n` hashes.
 */
export function consistencyProof(leaves: LeafHashes, m: number, n: number): Buffer[] {
  const leaf = accessor(leaves, n);
  if (!Number.isSafeInteger(m) || m < 0 || m > n) throw new RangeError(`size ${m} is not in 0…${n}`);
  return subproof(m, n, (lo, hi) => rangeHash(leaf, lo, hi));
}

/**
 * The consistency proof from size `m` to size `n`, PROOF of RFC 9162 §2.1.4.1, built from
 * the right edge at `m` (`MerkleTree.snapshot()` at size `m`: the roots of the perfect
 * subtrees of `m`'s binary decomposition) and the leaf hashes `m … n-1` appended since:
 * exactly what `consistencyProof(allLeaves, m, n)` returns, without the leaves before `m`.
 * Empty when `m` is 0 or `m == n`. O(n - m + log n) hashes.
 *
 * The SUBPROOF walk asks for two kinds of node: a right sibling `[lo + k, hi)` taken while
 * `m <= k`, which starts at or after `m` and is hashed from `leavesSince`; and a left sibling
 * `[lo, lo + k)` taken while `m > k` (or the final `[lo, m)`), which is the next perfect
 * subtree of `m`'s decomposition, an edge hash. A range straddling `m` would be split into
 * those two kinds; a node inside `[0, m)` that is not on the edge is a bug, thrown as an
 * `Error`. The edge is trusted: a wrong edge hash yields a proof that does not verify.
 *
 * To move a window forward, resume the tree at `n` with `new MerkleTree(edgeAtM)` and
 * append `leavesSince`; its `snapshot()` is the edge at `n`.
 */
export function consistencyProofFromEdge(
  edgeAtM: MerkleTreeState,
  leavesSince: readonly Uint8Array[],
  n: number,
): Buffer[] {
  new MerkleTree(edgeAtM); // Refuses a size or edge that do not fit, as a TypeError.
  const m = edgeAtM.size;
  if (!Number.isSafeInteger(n) || n < m) throw new RangeError(`size ${n} is not at least the edge's size ${m}`);
  if (leavesSince.length !== n - m)
    throw new RangeError(`from size ${m} to ${n} takes ${n - m} leaf hashes, not ${leavesSince.length}`);
  // The perfect subtrees [lo, lo + 2^j) of m's decomposition, largest first, as the edge lists them.
  const edge = new Map<string, Buffer>();
  let [start, p] = [0, 1];
  while (p * 2 <= m) p *= 2;
  for (const h of edgeAtM.edge) {
    while (start + p > m) p /= 2;
    edge.set(`${start}:${start + p}`, Buffer.from(h, 'hex'));
    start += p;
  }
  const since = (index: number) => leavesSince[index - m]!;
  const node = (lo: number, hi: number): Uint8Array => {
    if (lo >= m) return rangeHash(since, lo, hi);
    const known = edge.get(`${lo}:${hi}`);
    if (known) return known;
    if (hi <= m)
      throw new Error(
        `bug: the proof from ${m} to ${n} needs node [${lo}, ${hi}), inside [0, ${m}) but not on its edge`,
      );
    const k = splitPoint(hi - lo);
    return hashChildren(node(lo, lo + k), node(lo + k, hi));
  };
  return subproof(m, n, node);
}

/**
 * Checks that `proof` leads from `leafHash` at `index` to `root` of a tree of `size`
 * (RFC 9162 §2.1.3.2). Throws a `ProofError` when it does not.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkSizes(index, size);
  if (index >= size) throw new ProofError('proof_malformed', `leaf index ${index} is not in a tree of size ${size}`);
  checkHashes([leafHash, root, ...proof]);
  let [fn, sn] = [index, size - 1];
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) throw wrongLength(proof.length, `leaf ${index} in a tree of size ${size}`);
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      // A last node with no right sibling moves up unchanged: skip its levels.
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      r = hashChildren(r, p);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  if (sn !== 0) throw wrongLength(proof.length, `leaf ${index} in a tree of size ${size}`);
  if (!r.equals(root))
    throw new ProofError('root_mismatch', `the inclusion proof of leaf ${index} leads to another root`);
}

/**
 * Checks that the tree of size `m` with `rootM` is a prefix of the tree of size `n` with
 * `rootN` (RFC 9162 §2.1.4.2). Sizes 0 and `m == n` take an empty proof; an empty tree
 * must have the empty root. Throws a `ProofError` when the proof does not verify.
 */
export function verifyConsistency(
  m: number,
  n: number,
  rootM: Uint8Array,
  rootN: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  checkSizes(m, n);
  if (m > n) throw new ProofError('proof_malformed', `size ${m} is larger than size ${n}`);
  checkHashes([rootM, rootN, ...proof]);
  if (m === 0 || m === n) {
    if (proof.length !== 0) throw wrongLength(proof.length, `the tree of size ${m} in the tree of size ${n}`);
    if (!Buffer.from(rootM).equals(m === 0 ? EMPTY_ROOT : rootN))
      throw new ProofError('root_mismatch', `the trees of sizes ${m} and ${n} differ`);
    return;
  }
  if (proof.length === 0) throw wrongLength(0, `the tree of size ${m} in the tree of size ${n}`);
  // A power-of-two old tree is a node of the new one: the proof leaves out its hash.
  const path = isPowerOfTwo(m) ? [rootM, ...proof] : proof;
  let [fn, sn] = [m - 1, n - 1];
  while (fn % 2 === 1) [fn, sn] = [(fn - 1) / 2, Math.floor(sn / 2)];
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) throw wrongLength(proof.length, `the tree of size ${m} in the tree of size ${n}`);
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      sr = hashChildren(sr, c);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  if (sn !== 0) throw wrongLength(proof.length, `the tree of size ${m} in the tree of size ${n}`);
  if (!fr.equals(rootM)) throw new ProofError('root_mismatch', `the proof does not lead to the root of size ${m}`);
  if (!sr.equals(rootN)) throw new ProofError('root_mismatch', `the proof does not lead to the root of size ${n}`);
}

const LEAF_PREFIX = Buffer.from([0x00]);

/**
 * PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1 for 0 ≤ m ≤ n, taking MTH(D[lo:hi]) from `node`:
 * the SUBPROOF recursion, unrolled.
 */
function subproof(m: number, n: number, node: (lo: number, hi: number) => Uint8Array): Buffer[] {
  if (m === 0) return [];
  const proof: Buffer[] = [];
  // SUBPROOF(m, D[lo:hi], whole): `whole` while the old tree is still the left part of every split.
  let [lo, hi, whole] = [0, n, true];
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      proof.push(Buffer.from(node(lo + k, hi)));
      hi = lo + k;
    } else {
      proof.push(Buffer.from(node(lo, lo + k)));
      lo += k;
      m -= k;
      whole = false;
    }
  }
  if (!whole) proof.push(Buffer.from(node(lo, hi)));
  return proof.reverse();
}

function sha256(data: Uint8Array): Buffer {
  return hash('sha256', data, 'buffer');
}

/** MTH(D[lo:hi]) for hi > lo; recursion depth is log2 of the range. */
function rangeHash(leaf: (index: number) => Uint8Array, lo: number, hi: number): Uint8Array {
  if (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    return hashChildren(rangeHash(leaf, lo, lo + k), rangeHash(leaf, lo + k, hi));
  }
  const leafHash = leaf(lo);
  if (leafHash?.length !== HASH_SIZE) throw new TypeError(`leaf hash ${lo} is not ${HASH_SIZE} bytes`);
  return leafHash;
}

/** The largest power of two smaller than `n` (n > 1): where RFC 9162 §2.1.1 splits a tree. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return splitPoint(n) * 2 === n || n === 1;
}

/** How many 1 digits `n` has in binary: the edge length of a tree of size `n`. */
function onesIn(n: number): number {
  let ones = 0;
  for (let s = n; s > 0; s = Math.floor(s / 2)) ones += s % 2;
  return ones;
}

function accessor(leaves: LeafHashes, size: number): (index: number) => Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`tree size ${size} is invalid`);
  if (typeof leaves === 'function') return leaves;
  if (size > leaves.length) throw new RangeError(`a tree of size ${size} needs more than the ${leaves.length} leaves`);
  return (index) => leaves[index]!;
}

function checkSizes(a: number, b: number): void {
  for (const n of [a, b])
    if (!Number.isSafeInteger(n) || n < 0) throw new ProofError('proof_malformed', `size or index ${n} is invalid`);
}

function checkHashes(hashes: readonly Uint8Array[]): void {
  if (hashes.some((h) => h.length !== HASH_SIZE))
    throw new ProofError('proof_malformed', `a leaf, root or proof hash is not ${HASH_SIZE} bytes`);
}

function wrongLength(length: number, of: string): ProofError {
  return new ProofError('proof_malformed', `a proof of ${of} cannot have ${length} hashes`);
}
