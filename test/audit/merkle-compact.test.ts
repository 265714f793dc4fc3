import { hash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  consistencyProofFromEdge,
  hashLeaf,
  MerkleTree,
  type MerkleTreeState,
  treeHash,
  verifyConsistency,
} from '../../src/audit/merkle.ts';

// Consistency proofs from a tree's right edge at m and the leaves since (RFC 9162 §2.1.4.1),
// checked against the full-tree version, which reads every leaf.

/** The edge at `m` of the tree of `leaves`, built by appends as a sink would keep it. */
function edgeAt(leaves: readonly Uint8Array[], m: number): MerkleTreeState {
  const tree = new MerkleTree();
  for (const leaf of leaves.slice(0, m)) tree.append(leaf);
  return tree.snapshot();
}

/** The tree resumed from the edge at `m` and moved forward to `n`: the window's next edge. */
function resumed(edge: MerkleTreeState, leavesSince: readonly Uint8Array[]): MerkleTree {
  const tree = new MerkleTree(edge);
  for (const leaf of leavesSince) tree.append(leaf);
  return tree;
}

const hex = (proof: readonly Buffer[]) => proof.map((h) => h.toString('hex'));

/**
 * The edge version equals the full version from `m` to `n`, and verifies against the roots
 * computed both by the recursive definition and from the edge.
 */
function checkAgainstFull(leaves: readonly Uint8Array[], m: number, n: number): void {
  const edge = edgeAt(leaves, m);
  const since = leaves.slice(m, n);
  const proof = consistencyProofFromEdge(edge, since, n);
  expect(hex(proof)).toEqual(hex(consistencyProof(leaves, m, n)));
  const [rootM, rootN] = [treeHash(leaves, m), treeHash(leaves, n)];
  const forward = resumed(edge, since);
  expect(new MerkleTree(edge).root()).toEqual(rootM);
  expect(forward.root()).toEqual(rootN);
  expect(forward.snapshot()).toEqual(edgeAt(leaves, n));
  expect(() => verifyConsistency(m, n, rootM, rootN, proof)).not.toThrow();
  expect(() => verifyConsistency(m, n, new MerkleTree(edge).root(), forward.root(), proof)).not.toThrow();
}

const randomLeaves = (n: number) => Array.from({ length: n }, () => randomBytes(32));

describe('consistencyProofFromEdge', () => {
  it('reproduces the RFC 6962 test vectors of certificate-transparency', () => {
    const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
    const leaves = data.map((d) => hashLeaf(Buffer.from(d, 'hex')));
    expect(hex(consistencyProofFromEdge(edgeAt(leaves, 6), leaves.slice(6, 8), 8))).toEqual([
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(hex(consistencyProofFromEdge(edgeAt(leaves, 2), leaves.slice(2, 5), 5))).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ]);
  });

  it('gives an empty proof from size 0 and to the same size', () => {
    const leaves = randomLeaves(9);
    expect(consistencyProofFromEdge({ size: 0, edge: [] }, [], 0)).toEqual([]);
    expect(consistencyProofFromEdge({ size: 0, edge: [] }, leaves, 9)).toEqual([]);
    expect(consistencyProofFromEdge(edgeAt(leaves, 9), [], 9)).toEqual([]);
    expect(consistencyProofFromEdge(edgeAt(leaves, 1), [], 1)).toEqual([]);
  });

  it('handles m = 1, powers of two on either side and n = 2^k + 1', () => {
    const leaves = randomLeaves(1025);
    const cases: [number, number][] = [
      [1, 2],
      [1, 3],
      [1, 1025],
      [2, 3],
      [3, 4],
      [4, 5],
      [7, 8],
      [8, 9],
      [8, 16],
      [9, 16],
      [15, 17],
      [16, 17],
      [31, 32],
      [32, 33],
      [63, 64],
      [64, 65],
      [64, 1024],
      [127, 129],
      [511, 1024],
      [512, 513],
      [512, 1024],
      [513, 1024],
      [1023, 1024],
      [1023, 1025],
      [1024, 1025],
      [341, 1025],
      [682, 1024],
    ];
    for (const [m, n] of cases) checkAgainstFull(leaves, m, n);
  });

  it('equals the full version for every m ≤ n ≤ 70', () => {
    const leaves = randomLeaves(70);
    for (let n = 0; n <= leaves.length; n++) for (let m = 0; m <= n; m++) checkAgainstFull(leaves, m, n);
  });

  it('equals the full version and verifies for random n ≤ 300 and m ≤ n', () => {
    const sizes = fc
      .integer({ min: 0, max: 300 })
      .chain((n) => fc.record({ n: fc.constant(n), m: fc.integer({ min: 0, max: n }) }));
    fc.assert(
      fc.property(sizes, ({ n, m }) => checkAgainstFull(randomLeaves(n), m, n)),
      { numRuns: 300 },
    );
  });

  it('equals the full version for every m of random n ≤ 300', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), (n) => {
        const leaves = randomLeaves(n);
        const tree = new MerkleTree();
        for (let m = 0; m <= n; m++) {
          const since = leaves.slice(m);
          expect(hex(consistencyProofFromEdge(tree.snapshot(), since, n))).toEqual(hex(consistencyProof(leaves, m, n)));
          if (m < n) tree.append(leaves[m]!);
        }
      }),
      { numRuns: 20 },
    );
  });

  // About two million hashes for the edge and as many again for the full version: generous
  // time on a slow machine, no timing asserted.
  it('proves 999,000 to 1,000,000 from the edge and the last thousand leaves', { timeout: 180_000 }, () => {
    const [m, n] = [999_000, 1_000_000];
    // Leaf i is SHA-256 of the decimal i: cheap to synthesize again, never all held at once.
    const leaf = (i: number) => hash('sha256', String(i), 'buffer');
    const tree = new MerkleTree();
    for (let i = 0; i < m; i++) tree.append(leaf(i));
    const [edge, rootM] = [tree.snapshot(), tree.root()];
    const since = Array.from({ length: n - m }, (_, i) => leaf(m + i));
    const proof = consistencyProofFromEdge(edge, since, n);
    const rootN = resumed(edge, since).root();
    expect(proof).toHaveLength(17);
    expect(() => verifyConsistency(m, n, rootM, rootN, proof)).not.toThrow();
    // The full version, reading all million leaves through an accessor.
    expect(hex(proof)).toEqual(hex(consistencyProof(leaf, m, n)));
  });

  it('refuses an edge that does not fit its size, and leaves that do not fill m … n', () => {
    const leaves = randomLeaves(8);
    const edge = edgeAt(leaves, 5);
    expect(() => consistencyProofFromEdge({ size: 5, edge: edge.edge.slice(1) }, leaves.slice(5), 8)).toThrow(
      TypeError,
    );
    expect(() => consistencyProofFromEdge(edge, leaves.slice(4), 8)).toThrow(RangeError);
    expect(() => consistencyProofFromEdge(edge, leaves.slice(6), 8)).toThrow(RangeError);
    expect(() => consistencyProofFromEdge(edge, [], 4)).toThrow(RangeError);
    expect(() => consistencyProofFromEdge(edge, [], 5.5)).toThrow(RangeError);
    expect(() => consistencyProofFromEdge(edge, [leaves[5]!, Buffer.alloc(31), leaves[7]!], 8)).toThrow(TypeError);
  });
});
