import { z } from 'zod';

/** Session limits: the policy picks lifetimes, these cap them. */
export const sessionConfigSchema = z.strictObject({
  max_ttl_seconds: z.number().int().min(1).max(7 * 24 * 3600).default(8 * 3600),
  max_idle_seconds: z.number().int().min(1).max(24 * 3600).default(3600),
  sweep_interval_seconds: z.number().int().min(1).max(3600).default(60),
});
