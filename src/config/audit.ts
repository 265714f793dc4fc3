import { z } from 'zod';
import { type NoteKeyType, parseVerifierKey } from '../audit/signed-note.ts';

/** A C2SP verifier key line of `type`. */
const vkeySchema = (type: NoteKeyType) =>
  z.string().superRefine((vkey, ctx) => {
    try {
      const key = parseVerifierKey(vkey);
      if (key.type !== type) ctx.addIssue({ code: 'custom', message: `must be a ${type} key, not ${key.type}` });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a verifier key <name>+<key id>+<key>: ${(err as Error).message}` });
    }
  });

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
export const auditConfigSchema = z
  .strictObject({
    /** The sink, by name: `file` (embedded default) or `postgres` (shared by replicas). */
    sink: z.enum(['file', 'postgres']).default('file'),
    file: z.string().min(1).default('var/audit/audit.jsonl'),
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
        /**
         * Create or update the schema at start (the service's role owns the tables). `false`:
         * `mcp-warden audit migrate` made it as another role; the service only checks it is there.
         */
        migrate: z.boolean().default(true),
      })
      .default({ url: 'postgres://127.0.0.1:5432/mcp_warden', table: 'mcp_warden_audit', migrate: true }),
    /** The Ed25519 key that signs checkpoints; generated on first start. */
    checkpoint_key_file: z.string().min(1).default('var/keys/audit-checkpoint.jwk'),
    /** The checkpoint key's name (C2SP signed note), and the first part of each chain's origin. */
    log_name: z
      .string()
      .regex(/^[^\s+]+$/, 'a key name: no space or +')
      .default('mcp-warden'),
    /** Verifier keys (C2SP vkey) `audit verify` trusts without `--keys`. */
    trusted_keys: z.array(vkeySchema('ed25519')).default([]),
    /** Witnesses every checkpoint is sent to (C2SP tlog-witness), each with its cosignature/v1 vkey. */
    witnesses: z
      .array(
        z.strictObject({
          url: z.url({ protocol: /^https?$/ }),
          vkey: vkeySchema('cosignature/v1'),
        }),
      )
      .default([]),
    /** Fail closed when a witness has not cosigned the last checkpoint; else it only lags. */
    require_witness: z.boolean().default(false),
    witness_timeout_ms: z.number().int().min(100).max(60_000).default(2000),
    /** How many records a witness may fall behind within one chain before it cannot be caught up. */
    witness_max_lag_records: z.number().int().min(1000).default(1_000_000),
    checkpoint_every_records: z.number().int().min(1).default(1000),
    checkpoint_every_seconds: z.number().int().min(1).default(10),
    /** JSON pointers into a tool call's `arguments` to mask, e.g. `/credentials/pin`. */
    mask_pointers: z.array(z.string().regex(/^(\/[^/]*)+$/, 'a JSON pointer such as /a/b')).default([]),
    /** Argument names masked at any depth. */
    mask_keys: z.array(z.string().min(1)).default(DEFAULT_MASK_KEYS),
  })
  .refine((audit) => !audit.require_witness || audit.witnesses.length > 0, {
    message: 'require_witness needs at least one of audit.witnesses',
    path: ['require_witness'],
  });

export type AuditConfig = z.output<typeof auditConfigSchema>;
