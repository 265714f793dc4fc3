import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_ROOT,
  hashLeaf,
  inclusionProof,
  MerkleTree,
  ProofError,
  treeHash,
  verifyConsistency,
  verifyInclusion,
} from '../../src/audit/merkle.ts';

// The RFC 6962 test tree of certificate-transparency's reference tests, as kept in
// transparency-dev/merkle (proof/verify_test.go): eight leaves, the roots of their
// prefixes, and proofs. Inclusion vectors there number leaves from 1; here from 0.
const hex = (h: string) => Buffer.from(h, 'hex');
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const LEAF_HASHES = LEAVES.map((data) => hashLeaf(hex(data)));
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hex);
const root = (size: number) => ROOTS[size - 1]!;
const INCLUSION: { index: number; size: number; proof: string[] }[] = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const CONSISTENCY: { m: number; n: number; proof: string[] }[] = [
  { m: 1, n: 1, proof: [] },
  {
    m: 1,
    n: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    m: 6,
    n: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    m: 2,
    n: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    m: 6,
    n: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

/** The code of the ProofError `check` throws, or 'ok'. */
function outcome(check: () => void): string {
  try {
    check();
    return 'ok';
  } catch (err) {
    if (err instanceof ProofError) return err.code;
    throw err;
  }
}

function flipBit(bytes: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[Math.floor(bit / 8) % copy.length]! ^= 1 << (bit % 8);
  return copy;
}

describe('RFC 6962 test vectors', () => {
  it('hashes the empty tree to SHA-256 of the empty string', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(treeHash([], 0)).toEqual(EMPTY_ROOT);
    expect(new MerkleTree().root()).toEqual(EMPTY_ROOT);
  });

  it('gives the roots of sizes 1 to 8, incrementally and by the recursive definition', () => {
    const tree = new MerkleTree();
    for (const [i, leaf] of LEAF_HASHES.entries()) {
      expect(tree.append(leaf)).toBe(i);
      expect(tree.root().toString('hex')).toBe(root(i + 1).toString('hex'));
      expect(treeHash(LEAF_HASHES, i + 1)).toEqual(root(i + 1));
    }
  });

  it.each(INCLUSION)(
    'builds and verifies the inclusion proof of leaf $index in size $size',
    ({ index, size, proof }) => {
      const built = inclusionProof(LEAF_HASHES, index, size);
      expect(built.map((h) => h.toString('hex'))).toEqual(proof);
      expect(outcome(() => verifyInclusion(LEAF_HASHES[index]!, index, size, proof.map(hex), root(size)))).toBe('ok');
    },
  );

  it.each(CONSISTENCY)('builds and verifies the consistency proof from $m to $n', ({ m, n, proof }) => {
    expect(consistencyProof(LEAF_HASHES, m, n).map((h) => h.toString('hex'))).toEqual(proof);
    expect(outcome(() => verifyConsistency(m, n, root(m), root(n), proof.map(hex)))).toBe('ok');
  });
});

describe('MerkleTree', () => {
  it('resumes from a snapshot with the same root', () => {
    const tree = new MerkleTree();
    for (const leaf of LEAF_HASHES.slice(0, 5)) tree.append(leaf);
    const state = tree.snapshot();
    expect(state).toEqual({
      size: 5,
      edge: [treeHash(LEAF_HASHES, 4).toString('hex'), LEAF_HASHES[4]!.toString('hex')],
    });
    const resumed = new MerkleTree(JSON.parse(JSON.stringify(state)));
    for (const leaf of LEAF_HASHES.slice(5)) resumed.append(leaf);
    expect(resumed.size).toBe(8);
    expect(resumed.root()).toEqual(root(8));
  });

  it('hands out copies of its hashes', () => {
    const tree = new MerkleTree();
    for (const leaf of LEAF_HASHES.slice(0, 4)) tree.append(leaf);
    tree.root().fill(0);
    expect(tree.root()).toEqual(root(4));
  });

  it('refuses a state whose edge does not fit its size, and a leaf hash of the wrong length', () => {
    expect(() => new MerkleTree({ size: 3, edge: ['00'.repeat(32)] })).toThrow(TypeError);
    expect(() => new MerkleTree({ size: 1, edge: ['zz'.repeat(32)] })).toThrow(TypeError);
    expect(() => new MerkleTree({ size: -1, edge: [] })).toThrow(TypeError);
    expect(() => new MerkleTree().append(Buffer.alloc(31))).toThrow(TypeError);
  });

  it('proves a leaf of a 100,000-leaf tree through an accessor without quadratic work', () => {
    const leaves = Array.from({ length: 100_000 }, (_, i) => hashLeaf(Buffer.from(`record ${i}`)));
    const tree = new MerkleTree();
    for (const leaf of leaves) tree.append(leaf);
    const proof = inclusionProof((i) => leaves[i]!, 77_777, leaves.length);
    expect(proof).toHaveLength(17);
    expect(outcome(() => verifyInclusion(leaves[77_777]!, 77_777, leaves.length, proof, tree.root()))).toBe('ok');
    const old = treeHash(leaves, 65_537);
    const consistency = consistencyProof(leaves, 65_537, leaves.length);
    expect(outcome(() => verifyConsistency(65_537, leaves.length, old, tree.root(), consistency))).toBe('ok');
  });
});

describe('proof generation', () => {
  it('refuses an index or size outside the tree', () => {
    expect(() => inclusionProof(LEAF_HASHES, 8, 8)).toThrow(RangeError);
    expect(() => inclusionProof(LEAF_HASHES, 0, 9)).toThrow(RangeError);
    expect(() => inclusionProof(LEAF_HASHES, -1, 8)).toThrow(RangeError);
    expect(() => consistencyProof(LEAF_HASHES, 5, 4)).toThrow(RangeError);
    expect(() => consistencyProof(LEAF_HASHES, 1.5, 4)).toThrow(RangeError);
  });

  it('gives empty consistency proofs from 0 and to the same size', () => {
    expect(consistencyProof(LEAF_HASHES, 0, 8)).toEqual([]);
    expect(consistencyProof(LEAF_HASHES, 8, 8)).toEqual([]);
  });
});

describe('proof verification', () => {
  const proof = inclusionProof(LEAF_HASHES, 5, 8);

  it('refuses malformed inclusion proofs with proof_malformed', () => {
    expect(outcome(() => verifyInclusion(LEAF_HASHES[5]!, 8, 8, proof, root(8)))).toBe('proof_malformed');
    expect(outcome(() => verifyInclusion(LEAF_HASHES[5]!, 5, 8, proof.slice(1), root(8)))).toBe('proof_malformed');
    expect(outcome(() => verifyInclusion(LEAF_HASHES[5]!, 5, 8, [...proof, proof[0]!], root(8)))).toBe(
      'proof_malformed',
    );
    expect(outcome(() => verifyInclusion(LEAF_HASHES[5]!, 5, 8, [proof[0]!.subarray(1)], root(8)))).toBe(
      'proof_malformed',
    );
    expect(outcome(() => verifyInclusion(LEAF_HASHES[0]!, 0, 0, [], EMPTY_ROOT))).toBe('proof_malformed');
    expect(outcome(() => verifyInclusion(LEAF_HASHES[0]!, 0, 2 ** 53, [], EMPTY_ROOT))).toBe('proof_malformed');
  });

  it('refuses a consistency proof between sizes it cannot join', () => {
    expect(outcome(() => verifyConsistency(5, 4, root(5), root(4), []))).toBe('proof_malformed');
    expect(outcome(() => verifyConsistency(4, 4, root(4), root(4), [root(1)]))).toBe('proof_malformed');
    expect(outcome(() => verifyConsistency(4, 4, root(4), root(5), []))).toBe('root_mismatch');
    expect(outcome(() => verifyConsistency(3, 8, root(3), root(8), []))).toBe('proof_malformed');
  });

  it('takes an empty tree as a prefix of every tree, with the empty root only', () => {
    expect(outcome(() => verifyConsistency(0, 8, EMPTY_ROOT, root(8), []))).toBe('ok');
    expect(outcome(() => verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []))).toBe('ok');
    expect(outcome(() => verifyConsistency(0, 8, root(1), root(8), []))).toBe('root_mismatch');
    expect(outcome(() => verifyConsistency(0, 8, EMPTY_ROOT, root(8), [root(1)]))).toBe('proof_malformed');
  });
});

/** Random trees of up to `max` leaves with a size, an index in it and a smaller size. */
const trees = (max: number) =>
  fc
    .integer({ min: 1, max })
    .chain((n) => fc.record({ n: fc.constant(n), index: fc.nat(n - 1), m: fc.integer({ min: 0, max: n }) }))
    .map(({ n, index, m }) => ({ leaves: Array.from({ length: n }, () => randomBytes(32)), n, index, m }));

describe('properties of random trees', () => {
  it('the incremental root is the recursive tree hash at every size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), (n) => {
        const leaves = Array.from({ length: n }, () => randomBytes(32));
        const tree = new MerkleTree();
        for (const [i, leaf] of leaves.entries()) {
          tree.append(leaf);
          expect(tree.root()).toEqual(treeHash(leaves, i + 1));
          expect(new MerkleTree(tree.snapshot()).root()).toEqual(tree.root());
        }
      }),
    );
  });

  it('every inclusion proof verifies; a flipped bit, another index, size or root is refused', () => {
    fc.assert(
      fc.property(trees(300), fc.nat(), fc.nat(), ({ leaves, n, index }, bit, other) => {
        const treeRoot = treeHash(leaves, n);
        const leaf = leaves[index]!;
        const proof = inclusionProof(leaves, index, n);
        expect(outcome(() => verifyInclusion(leaf, index, n, proof, treeRoot))).toBe('ok');
        expect(outcome(() => verifyInclusion(flipBit(leaf, bit), index, n, proof, treeRoot))).not.toBe('ok');
        expect(outcome(() => verifyInclusion(leaf, index, n, proof, flipBit(treeRoot, bit)))).not.toBe('ok');
        if (proof.length > 0) {
          const at = other % proof.length;
          const tampered = proof.map((h, i) => (i === at ? flipBit(h, bit) : h));
          expect(outcome(() => verifyInclusion(leaf, index, n, tampered, treeRoot))).not.toBe('ok');
        }
        const otherIndex = other % (n + 1);
        if (otherIndex !== index)
          expect(outcome(() => verifyInclusion(leaf, otherIndex, n, proof, treeRoot))).not.toBe('ok');
        // The root is what binds a size: a proof checked against another size's root is refused.
        const otherSize = 1 + (other % n);
        if (otherSize !== n && otherSize > index)
          expect(outcome(() => verifyInclusion(leaf, index, otherSize, proof, treeHash(leaves, otherSize)))).not.toBe(
            'ok',
          );
      }),
    );
  });

  it('every consistency proof verifies; a flipped bit, another size or root is refused', () => {
    fc.assert(
      fc.property(trees(300), fc.nat(), fc.nat(), ({ leaves, n, m }, bit, other) => {
        const [rootM, rootN] = [treeHash(leaves, m), treeHash(leaves, n)];
        const proof = consistencyProof(leaves, m, n);
        expect(outcome(() => verifyConsistency(m, n, rootM, rootN, proof))).toBe('ok');
        expect(outcome(() => verifyConsistency(m, n, flipBit(rootM, bit), rootN, proof))).not.toBe('ok');
        if (m > 0) expect(outcome(() => verifyConsistency(m, n, rootM, flipBit(rootN, bit), proof))).not.toBe('ok');
        if (proof.length > 0) {
          const at = other % proof.length;
          const tampered = proof.map((h, i) => (i === at ? flipBit(h, bit) : h));
          expect(outcome(() => verifyConsistency(m, n, rootM, rootN, tampered))).not.toBe('ok');
        }
        // An empty proof also proves, truly, that the empty tree and the tree itself are prefixes.
        const otherM = other % (n + 1);
        if (otherM !== m && !(proof.length === 0 && (otherM === 0 || otherM === n)))
          expect(outcome(() => verifyConsistency(otherM, n, treeHash(leaves, otherM), rootN, proof))).not.toBe('ok');
        const otherN = m + (other % (leaves.length - m + 1));
        if (otherN !== n && m > 0)
          expect(outcome(() => verifyConsistency(m, otherN, rootM, treeHash(leaves, otherN), proof))).not.toBe('ok');
      }),
    );
  });
});
