import { hash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import canonicalize from 'canonicalize';
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

/** `sha256(prev ‖ canonical_json(record without hash))`, RFC 8785 canonical form, hex. */
export function hashRecord(record: Omit<SealedRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = record;
  return hash('sha256', rest.prev + (canonicalize(rest) as string), 'hex');
}

/** A new chain id: one chain per process run of one replica, never reused. */
export function newChainId(): string {
  return `${hostname()}:${new Date().toISOString()}:${randomBytes(4).toString('hex')}`;
}

/**
 * Gives records their place in one chain. Only the single writer of a chain (a sink)
 * holds a sealer, and it seals in the order it writes.
 */
export class ChainSealer {
  #head: ChainHead;

  constructor(chain: string) {
    this.#head = { chain, seq: 0, hash: GENESIS };
  }

  seal(record: AuditRecord): SealedRecord {
    const unsealed = { ...record, chain: this.#head.chain, seq: this.#head.seq + 1, prev: this.#head.hash };
    const sealed: SealedRecord = { ...unsealed, hash: hashRecord(unsealed) };
    this.#head = { chain: sealed.chain, seq: sealed.seq, hash: sealed.hash };
    return sealed;
  }

  /** Takes back the last seals when their write failed, so the chain has no gap. */
  rewind(to: ChainHead): void {
    this.#head = to;
  }

  get head(): ChainHead {
    return this.#head;
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
  | { readonly ok: false; readonly chain: string; readonly seq: number; readonly problem: string };

/**
 * Replays records (in stored order; several chains may interleave) and checks, per
 * chain, that sequence numbers run 1, 2, 3… without a gap, that each `prev` is the
 * previous `hash`, and that each `hash` is the record's own.
 */
export function verifyRecords(records: Iterable<SealedRecord>): ChainVerdict {
  const heads = new Map<string, ChainHead>();
  let count = 0;
  for (const record of records) {
    // A tampered record may hold anything: the chain fields must have their types before
    // they are compared (an object with a broken toString would throw, not be reported).
    const bad =
      typeof record.chain !== 'string' ||
      !Number.isSafeInteger(record.seq) ||
      typeof record.prev !== 'string' ||
      typeof record.hash !== 'string';
    if (bad) {
      const chain = typeof record.chain === 'string' ? record.chain : '?';
      const seq = (heads.get(chain)?.seq ?? 0) + 1;
      return { ok: false, chain, seq, problem: 'the record lacks a well-typed chain, seq, prev or hash (altered)' };
    }
    const head = heads.get(record.chain) ?? { chain: record.chain, seq: 0, hash: GENESIS };
    if (record.seq <= head.seq) {
      return {
        ok: false,
        chain: record.chain,
        seq: record.seq,
        problem: `record ${record.seq} appears a second time (inserted or duplicated)`,
      };
    }
    if (record.seq !== head.seq + 1) {
      return {
        ok: false,
        chain: record.chain,
        seq: head.seq + 1,
        problem: `record ${head.seq + 1} is missing or out of order (found ${record.seq})`,
      };
    }
    if (record.prev !== head.hash)
      return { ok: false, chain: record.chain, seq: record.seq, problem: 'prev does not match the previous hash' };
    if (record.hash !== hashRecord(record))
      return { ok: false, chain: record.chain, seq: record.seq, problem: 'the record was altered (hash mismatch)' };
    heads.set(record.chain, { chain: record.chain, seq: record.seq, hash: record.hash });
    count += 1;
  }
  return { ok: true, records: count, heads: [...heads.values()] };
}
