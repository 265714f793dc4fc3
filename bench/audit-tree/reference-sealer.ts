// The reference of bench/audit-tree.ts: today's hash chain alone, without the Merkle tree
// that src/audit/chain.ts's ChainSealer now keeps besides it.
import { hash, randomBytes } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ChainSealer, GENESIS, type ChainHead, type SealedRecord, type SealerMark } from '../../src/audit/chain.ts';
import type { AuditRecord } from '../../src/audit/record.ts';

/**
 * Seals records into a hash chain only: `hash = sha256(prev ‖ RFC 8785 JSON of the record
 * without its hash)`, exactly what `hashRecord` in src/audit/chain.ts computes, with the
 * same object work as `ChainSealer.seal` (the record spread into its unsealed form, the
 * `hash`-less copy `canonicalRecord` makes, the sealed copy, the new head) — everything
 * but the tree's leaf hash and append.
 */
export class HashChainSealer {
  #head: ChainHead;

  constructor(chain: string) {
    this.#head = { chain, seq: 0, hash: GENESIS };
  }

  seal(record: AuditRecord): SealedRecord {
    const unsealed = { ...record, chain: this.#head.chain, seq: this.#head.seq + 1, prev: this.#head.hash };
    // canonicalRecord() drops `hash` with a rest copy; the reference pays the same copy.
    const { hash: _none, ...rest } = unsealed as typeof unsealed & { hash?: string };
    const canonical = canonicalize(rest) as string;
    const sealed: SealedRecord = { ...unsealed, hash: hash('sha256', unsealed.prev + canonical, 'hex') };
    this.#head = { chain: sealed.chain, seq: sealed.seq, hash: sealed.hash };
    return sealed;
  }

  get head(): ChainHead {
    return this.#head;
  }

  /**
   * No tree: what a checkpoint of the chain alone signs is its last hash (as the JWS
   * checkpoints before the tree did), 32 bytes in place of a root.
   */
  root(): Buffer {
    return Buffer.from(this.#head.hash, 'hex');
  }

  mark(): SealerMark {
    return { head: this.#head, tree: { size: 0, edge: [] }, leaves: 0 };
  }

  rewind(to: SealerMark): void {
    this.#head = to.head;
  }
}

/** Chains whose id starts with this are sealed by a {@link HashChainSealer} once the hook is on. */
export const CHAIN_ONLY_PREFIX = 'bench-chain-only:';

/** A chain id that the hook seals with the chain alone (shaped like `newChainId()`'s). */
export function chainOnlyChainId(): string {
  return `${CHAIN_ONLY_PREFIX}${new Date().toISOString()}:${randomBytes(4).toString('hex')}`;
}

let installed = false;

/**
 * src/ has no seam to give a FileAuditSink another sealer (its GroupCommit makes its own
 * `new ChainSealer(chain)`), so this bench-only hook wraps ChainSealer's methods: a sealer
 * whose chain id starts with {@link CHAIN_ONLY_PREFIX} (a sink built with
 * `chain: chainOnlyChainId()`) hands every call to its own HashChainSealer; every other
 * sealer runs the original methods. Both pay the same dispatch (one WeakMap lookup per
 * call), so the sink with the tree and the one without differ only by the tree. Covers the
 * methods GroupCommit calls (seal, mark, rewind, head, root); `adopt` (resuming a chain)
 * is refused for a chain-only sealer. Install it only in a process that wants it: the
 * dispatch is on every sealer of the process from then on.
 */
export function installChainOnlyHook(): void {
  if (installed) return;
  installed = true;
  const proto = ChainSealer.prototype;
  const original = {
    seal: proto.seal,
    adopt: proto.adopt,
    mark: proto.mark,
    rewind: proto.rewind,
    root: proto.root,
    head: Object.getOwnPropertyDescriptor(proto, 'head')?.get as (this: ChainSealer) => ChainHead,
  };
  if (typeof original.head !== 'function') throw new Error('ChainSealer has no head getter: the hook needs updating');
  const shadows = new WeakMap<ChainSealer, HashChainSealer | null>();
  const shadowOf = (sealer: ChainSealer): HashChainSealer | null => {
    let shadow = shadows.get(sealer);
    if (shadow === undefined) {
      // A chain-only sealer's own head never moves (its shadow seals): its id is read once.
      const chain = original.head.call(sealer).chain;
      shadow = chain.startsWith(CHAIN_ONLY_PREFIX) ? new HashChainSealer(chain) : null;
      shadows.set(sealer, shadow);
    }
    return shadow;
  };
  proto.seal = function seal(this: ChainSealer, record: AuditRecord): SealedRecord {
    const shadow = shadowOf(this);
    return shadow === null ? original.seal.call(this, record) : shadow.seal(record);
  };
  proto.adopt = function adopt(this: ChainSealer, record: SealedRecord): void {
    if (shadowOf(this) !== null) throw new Error('a chain-only bench sealer does not resume chains');
    original.adopt.call(this, record);
  };
  proto.mark = function mark(this: ChainSealer): SealerMark {
    const shadow = shadowOf(this);
    return shadow === null ? original.mark.call(this) : shadow.mark();
  };
  proto.rewind = function rewind(this: ChainSealer, to: SealerMark): void {
    const shadow = shadowOf(this);
    if (shadow === null) original.rewind.call(this, to);
    else shadow.rewind(to);
  };
  proto.root = function root(this: ChainSealer): Buffer {
    const shadow = shadowOf(this);
    return shadow === null ? original.root.call(this) : shadow.root();
  };
  Object.defineProperty(proto, 'head', {
    configurable: true,
    get(this: ChainSealer): ChainHead {
      const shadow = shadowOf(this);
      return shadow === null ? original.head.call(this) : shadow.head;
    },
  });
}
