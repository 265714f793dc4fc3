import { z } from 'zod';
import { revocationConfigFields } from './revocation.ts';

/** Where the Redis session store connects, and how long it waits. */
export const redisSessionConfigSchema = z.strictObject({
  url: z.string().default('redis://127.0.0.1:6379'),
  key_prefix: z.string().default('mcpw:'),
  command_timeout_ms: z.number().int().min(10).max(10000).default(500),
});

/** Session limits: the policy picks lifetimes, these cap them. */
export const sessionConfigSchema = z.strictObject({
  max_ttl_seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(8 * 3600),
  max_idle_seconds: z
    .number()
    .int()
    .min(1)
    .max(24 * 3600)
    .default(3600),
  sweep_interval_seconds: z.number().int().min(1).max(3600).default(60),
  /** Live sessions and state handles one principal (issuer, subject) may hold; `0` for no limit. */
  max_per_principal: z.number().int().min(0).max(1_000_000).default(100),
  /**
   * The key that seals MCP 2026-07-28 `requestState` values (base64url, 32 bytes; made on
   * first use). Absent: a fresh key per process, so a state sealed by one replica is
   * refused by another; replicas behind one address must share this file.
   */
  request_state_key_file: z.string().min(1).optional(),
  /** `memory` for one process; `redis` to share sessions between replicas. */
  store: z.enum(['memory', 'redis']).default('memory'),
  redis: redisSessionConfigSchema.default(redisSessionConfigSchema.parse({})),
  ...revocationConfigFields,
});

/** The parsed `session` section. */
export type SessionConfig = z.infer<typeof sessionConfigSchema>;
