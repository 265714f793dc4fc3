import { z } from 'zod';

/** Argument names masked wherever they appear (case-insensitive), before hashing or writing. */
export const DEFAULT_MASK_KEYS = [
  'password',
  'passwd',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'authorization',
  'cookie',
  'private_key',
  'client_secret',
];

/** Where decision and state-change records go, and how they are protected. */
export const auditConfigSchema = z.strictObject({
  /** The sink, by name: `file` (embedded default) or `postgres` (shared by replicas). */
  sink: z.enum(['file', 'postgres']).default('file'),
  file: z.string().min(1).default('var/audit.jsonl'),
  max_file_bytes: z
    .number()
    .int()
    .min(4096)
    .default(256 * 1024 * 1024),
  postgres: z
    .strictObject({
      url: z.string().default('postgres://127.0.0.1:5432/mcp_warden'),
      table: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,50}$/)
        .default('mcp_warden_audit'),
    })
    .default({ url: 'postgres://127.0.0.1:5432/mcp_warden', table: 'mcp_warden_audit' }),
  /** The Ed25519 key that signs checkpoints; generated on first start. */
  checkpoint_key_file: z.string().min(1).default('var/audit-checkpoint.jwk.json'),
  /** The checkpoint key's name (C2SP signed note), and the first part of each chain's origin. */
  log_name: z
    .string()
    .regex(/^[^\s+]+$/, 'a key name: no space or +')
    .default('mcp-warden'),
  /** Verifier keys (C2SP vkey) `audit verify` trusts without `--keys`. */
  trusted_keys: z.array(z.string().min(1)).default([]),
  checkpoint_every_records: z.number().int().min(1).default(1000),
  checkpoint_every_seconds: z.number().int().min(1).default(10),
  /** JSON pointers into a tool call's `arguments` to mask, e.g. `/credentials/pin`. */
  mask_pointers: z.array(z.string().regex(/^(\/[^/]*)+$/, 'a JSON pointer such as /a/b')).default([]),
  /** Argument names masked at any depth. */
  mask_keys: z.array(z.string().min(1)).default(DEFAULT_MASK_KEYS),
});

export type AuditConfig = z.output<typeof auditConfigSchema>;
