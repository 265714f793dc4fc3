import { z } from 'zod';
import { approvalSignInSchema } from './approvals.ts';

const httpUrl = z.url({ protocol: /^https?$/, message: 'an http(s) URL' });
const roleValues = z.array(z.string().min(1).max(256)).max(64).default([]);

/**
 * The incident-review console (docs/console.md). Absent: none is served (in dev mode, one
 * at `/console` on the listen address, signed in to with an admin API key). Console
 * users sign in with OIDC (authorization code, PKCE) at `sign_in.issuer`; their access
 * token, for `audience`, is verified like any token (its issuer must be one of
 * `identity.issuers`), and the roles that issuer asserts map to console roles.
 */
export const consoleConfigSchema = z.strictObject({
  /** Where the console is, as browsers reach it (its path is where it is mounted, e.g. `/console`). */
  url: httpUrl,
  /** The OIDC client users sign in with; absent only in dev mode, where an admin API key signs in. */
  sign_in: approvalSignInSchema.optional(),
  /** The resource (RFC 8707) the sign-in asks a token for, and its verified audience; the console URL when absent. */
  audience: z.string().min(1).max(2048).optional(),
  /** Issuer roles (the issuer's configured roles claim) granting each console role. */
  roles: z
    .strictObject({ viewer: roleValues, responder: roleValues, approver: roleValues })
    .default({ viewer: [], responder: [], approver: [] }),
  /** How long a console sign-in lasts, at most (the token's own expiry ends it sooner). */
  session_ttl_seconds: z.number().int().min(60).max(86_400).default(3_600),
  /** What the review queue calls long-lived, and unused for a while. */
  review: z
    .strictObject({
      long_lived_seconds: z
        .number()
        .int()
        .min(60)
        .default(4 * 3_600),
      idle_seconds: z.number().int().min(60).default(300),
    })
    .default({ long_lived_seconds: 4 * 3_600, idle_seconds: 300 }),
});

export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;
