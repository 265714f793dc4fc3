import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The bundle shipped with the package (compiled from `policies/`). */
export const DEFAULT_BUNDLE = fileURLToPath(new URL('../../bundles/default.tar.gz', import.meta.url));

/** Where the compiled policy bundle comes from. */
export const policyConfigSchema = z.strictObject({
  bundle: z.string().min(1).default(DEFAULT_BUNDLE),
  max_bundle_bytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  /** Reload when the bundle file changes (else only `POST /v1/admin/reload`). */
  watch: z.boolean().default(true),
  reload_debounce_ms: z.number().int().min(0).max(60_000).default(250),
});
