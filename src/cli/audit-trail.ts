import { openTrail } from '../audit/open-trail.ts';
import type { AuditTrail } from '../audit/record.ts';
import type { Config } from '../config/schema.ts';
import { Refused } from './refused.ts';

/** Runs `read` on the configured trail, opened read-only (`openTrail`). */
export async function withTrail<T>(config: Config, read: (trail: AuditTrail) => Promise<T>): Promise<T> {
  const opened = await openTrail(config.audit);
  if (opened === null) throw new Refused(1, `audit: the trail ${config.audit.file} is missing (no such file)`);
  try {
    return await read(opened.trail);
  } finally {
    await opened.close();
  }
}
