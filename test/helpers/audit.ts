import { AuditUnavailable } from '../../src/errors.ts';
import type { AuditRecord, AuditSink } from '../../src/audit/record.ts';

/** An in-memory sink for tests; `failing = true` makes it refuse records. */
export class MemoryAuditSink implements AuditSink {
  readonly records: AuditRecord[] = [];
  failing = false;

  async append(record: AuditRecord): Promise<void> {
    if (this.failing) throw new AuditUnavailable('test sink refuses records');
    this.records.push(record);
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
