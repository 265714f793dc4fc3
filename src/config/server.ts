import { z } from 'zod';

/** The HTTP listener. */
export const serverConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8181),
  body_limit_bytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(65_536),
  /** Dev mode: a locally generated issuer and `dev-token`; loopback only. */
  dev: z.boolean().default(false),
  dev_key_file: z.string().min(1).default('var/dev-issuer.jwk.json'),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
