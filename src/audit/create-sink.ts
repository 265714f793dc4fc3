import type { AuditConfig } from '../config/audit.ts';
import { loadCheckpointSigner, type CheckpointSigner } from './checkpoint.ts';
import { FileAuditSink } from './file-sink.ts';
import type { AuditSink } from './record.ts';
import { WitnessClient } from './witness-client.ts';

/** The sink the config names, with its checkpoint signer. */
export async function createAuditSink(config: AuditConfig): Promise<{ sink: AuditSink; signer: CheckpointSigner }> {
  const signer = await loadCheckpointSigner(config.checkpoint_key_file, config.log_name);
  const schedule = {
    signer,
    checkpointEveryRecords: config.checkpoint_every_records,
    checkpointEveryMs: config.checkpoint_every_seconds * 1000,
    witness:
      config.witnesses.length === 0
        ? undefined
        : new WitnessClient(config.witnesses, {
            timeoutMs: config.witness_timeout_ms,
            maxLagRecords: config.witness_max_lag_records,
          }),
    requireWitness: config.require_witness,
  };
  if (config.sink === 'postgres') {
    // Loaded only when configured: the embedded default does not need `pg`.
    const { PostgresAuditSink } = await import('./postgres-sink.ts');
    return {
      sink: new PostgresAuditSink({
        url: config.postgres.url,
        table: config.postgres.table,
        migrate: config.postgres.migrate,
        ...schedule,
      }),
      signer,
    };
  }
  return { sink: new FileAuditSink({ path: config.file, maxFileBytes: config.max_file_bytes, ...schedule }), signer };
}
