import { ChainSealer, type SealedRecord } from '../../src/audit/chain.ts';
import {
  matchesQuery,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
  type AuditSink,
} from '../../src/audit/record.ts';
import { AuditUnavailable } from '../../src/errors.ts';

/** An in-memory sink for tests, sealing like the real ones; `failing = true` makes it refuse records. */
export class MemoryAuditSink implements AuditSink {
  /** The records appended so far, sealed. */
  readonly saved: SealedRecord[] = [];
  readonly #sealer = new ChainSealer('test-chain');
  failing = false;

  async append(record: AuditRecord): Promise<void> {
    if (this.failing) throw new AuditUnavailable('test sink refuses records');
    this.saved.push(this.#sealer.seal(record));
  }
  async query(query: AuditQuery): Promise<AuditPage> {
    return { records: this.saved.filter((r) => matchesQuery(r, query)).slice(0, query.limit), next: null };
  }
  async *records(): AsyncIterable<SealedRecord> {
    yield* this.saved;
  }
  async *checkpoints(): AsyncIterable<string> {}
  head() {
    return this.#sealer.head;
  }
  status(): 'OK' {
    return 'OK';
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
