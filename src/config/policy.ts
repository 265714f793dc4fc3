import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The bundle shipped with the package (compiled from `policies/`). */
export const DEFAULT_BUNDLE = fileURLToPath(new URL('../../bundles/default.tar.gz', import.meta.url));

/** Where the compiled policy bundle comes from. */
export const policyConfigSchema = z.strictObject({
  bundle: z.string().min(1).default(DEFAULT_BUNDLE),
  max_bundle_bytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  /** Bundle signatures (`opa build --signing-key`): trusted keys by `kid`, several to rotate. */
  signing: z
    .strictObject({
      require_signature: z.boolean().default(false),
      jwks: z.strictObject({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() })).min(1) }).optional(),
      jwks_file: z.string().min(1).optional(),
      /** The `scope` claim signatures must carry (OPA's `--claims-file` scope). */
      scope: z.string().min(1).optional(),
    })
    .refine((v) => !(v.jwks && v.jwks_file), { message: 'set jwks or jwks_file, not both' })
    .refine((v) => !v.require_signature || v.jwks !== undefined || v.jwks_file !== undefined, {
      message: 'require_signature needs trusted keys (jwks or jwks_file)',
    })
    .default({ require_signature: false }),
  /** Reload when the bundle file changes (else only `POST /v1/admin/reload`). */
  watch: z.boolean().default(true),
  reload_debounce_ms: z.number().int().min(0).max(60_000).default(250),
});
