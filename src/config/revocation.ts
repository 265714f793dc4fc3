import { z } from 'zod';

/**
 * The `session` fields of principal revocation (see docs/sessions.md), spread into the
 * session sub-schema: rules live in the session store.
 */
export const revocationConfigFields = {
  /**
   * How long a principal revocation is kept: at least the longest lifetime of a token any
   * trusted issuer mints, since past it no token the rule covers can still verify.
   */
  revocation_retention_seconds: z
    .number()
    .int()
    .min(60)
    .max(90 * 24 * 3600)
    .default(24 * 3600),
  /**
   * What an admin's `DELETE /v1/sessions/{id}` means for the owner's other requests:
   * `principal` also records a rule for the owner (issuer, subject, client), so the same
   * token cannot go on statelessly (MCP 2026-07-28); `session` ends that session only.
   */
  admin_revoke: z.enum(['principal', 'session']).default('principal'),
};
