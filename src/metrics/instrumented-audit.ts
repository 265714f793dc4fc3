import type { AuditSink } from '../audit/record.ts';
import type { ServiceMetrics, StoreName } from './service-metrics.ts';

/**
 * The same sink, timing every append. A sink resolves `append` only once the record is
 * durable (the file sink after its group commit's fdatasync, the PostgreSQL sink after
 * its commit), so the time from the call to the resolution is the audit lag: how long a
 * record waits between being created and being safe. Measured here, it needs nothing of
 * the sinks and is the same for every backend.
 */
export function instrumentAuditSink(sink: AuditSink, metrics: ServiceMetrics, name: StoreName): AuditSink {
  return {
    append(record) {
      const started = performance.now();
      return sink.append(record).then(
        () => metrics.auditWritten(record.kind, (performance.now() - started) / 1000),
        (err: unknown) => {
          metrics.auditFailed(record.kind);
          metrics.storeError(name);
          throw err;
        },
      );
    },
    query: (query) => sink.query(query),
    records: () => sink.records(),
    checkpoints: () => sink.checkpoints(),
    head: () => sink.head(),
    start: () => sink.start(),
    stop: () => sink.stop(),
    status: () => sink.status(),
  };
}
