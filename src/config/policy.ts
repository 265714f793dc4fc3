import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The bundle shipped with the package (compiled from `policies/`). */
export const DEFAULT_BUNDLE = fileURLToPath(new URL('../../bundles/default.tar.gz', import.meta.url));

/** Default of `policy.load_timeout_ms`: ample for a normal bundle (the default loads in ~0.1 s). */
export const DEFAULT_LOAD_TIMEOUT_MS = 2_000;

/** Where the compiled policy bundle comes from. */
export const policyConfigSchema = z.strictObject({
  bundle: z.string().min(1).default(DEFAULT_BUNDLE),
  max_bundle_bytes: z
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  /**
   * Bundle signatures (`opa build --signing-key`): trusted keys by `kid`, several to rotate.
   * Once keys are configured every bundle must be signed by one (OPA's rule), unless
   * `allow_unsigned` is on, which is logged as a warning at every activation it permits.
   */
  signing: z
    .strictObject({
      require_signature: z.boolean().default(false),
      allow_unsigned: z.boolean().default(false),
      jwks: z.strictObject({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() })).min(1) }).optional(),
      jwks_file: z.string().min(1).optional(),
      /** The `scope` claim signatures must carry (OPA's `--claims-file` scope). */
      scope: z.string().min(1).optional(),
    })
    .refine((v) => !(v.jwks && v.jwks_file), { message: 'set jwks or jwks_file, not both' })
    .refine((v) => !v.require_signature || v.jwks !== undefined || v.jwks_file !== undefined, {
      message: 'require_signature needs trusted keys (jwks or jwks_file)',
    })
    .refine((v) => !(v.allow_unsigned && v.require_signature), {
      message: 'allow_unsigned and require_signature contradict each other',
      path: ['allow_unsigned'],
    })
    .default({ require_signature: false, allow_unsigned: false }),
  /** Reload when the bundle file changes (else only `POST /v1/admin/reload`). */
  watch: z.boolean().default(true),
  reload_debounce_ms: z.number().int().min(0).max(60_000).default(250),
  /** Deadline of a bundle's load and trial evaluation in its worker thread, at start and on reload. */
  load_timeout_ms: z.number().int().min(100).max(600_000).default(DEFAULT_LOAD_TIMEOUT_MS),
});
