import { GENESIS, type ChainHead, type SealedRecord } from '../../src/audit/chain.ts';
import type { AuditPage, AuditQuery, AuditRecord, AuditSink } from '../../src/audit/record.ts';

const HEAD: ChainHead = { chain: 'bench-null', seq: 0, hash: GENESIS };
const DONE: Promise<void> = Promise.resolve();

/**
 * "Audit off" for the benchmark: `append` resolves at once and keeps nothing (no seal, no
 * hash, no write), so decide() runs its full pipeline minus the audit cost. `last` holds the
 * most recent record, for a bench that wants a realistic record to replay.
 */
export class NullAuditSink implements AuditSink {
  last: AuditRecord | undefined;

  append(record: AuditRecord): Promise<void> {
    this.last = record;
    return DONE;
  }
  async query(_query: AuditQuery): Promise<AuditPage> {
    return { records: [], next: null };
  }
  async *records(): AsyncIterable<SealedRecord> {}
  async *checkpoints(): AsyncIterable<string> {}
  head(): ChainHead {
    return HEAD;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  status(): 'OK' {
    return 'OK';
  }
}
