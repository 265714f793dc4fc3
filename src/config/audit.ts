import { z } from 'zod';

/** Where decision and state-change records go. */
export const auditConfigSchema = z.strictObject({
  sink: z.enum(['file']).default('file'),
  file: z.string().min(1).default('var/audit.jsonl'),
});
