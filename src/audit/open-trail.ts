import { existsSync } from 'node:fs';
import type { AuditConfig } from '../config/audit.ts';
import { FileTrail } from './file-trail.ts';
import type { AuditTrail } from './record.ts';

/** Longest wait for the audit database when reading: verifying a large trail is a batch job. */
const READ_TIMEOUT_MS = 120_000;

/**
 * Opens the configured trail to read it, and only that: no key is loaded or created, no
 * file is created or cut, no schema is migrated. A file trail that does not exist is
 * refused (answered as null) rather than read as empty.
 */
export async function openTrail(
  config: AuditConfig,
): Promise<{ readonly trail: AuditTrail; close(): Promise<void> } | null> {
  if (config.sink === 'file') {
    if (!existsSync(config.file)) return null;
    return { trail: new FileTrail(config.file), close: async () => undefined };
  }
  // Loaded only when configured: the embedded default does not need `pg`.
  const { auditPool, PostgresTrail } = await import('./postgres-trail.ts');
  const pool = auditPool(config.postgres.url, READ_TIMEOUT_MS);
  return { trail: new PostgresTrail(() => pool, config.postgres.table), close: () => pool.end() };
}
