import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/, message: 'an http(s) URL' });

/**
 * The approval page's sign-in: OIDC authorization code with PKCE at `issuer`, as the
 * client `client_id`. Its access token, audience-bound to the parked call's server, is
 * the approver's token.
 */
export const approvalSignInSchema = z.strictObject({
  issuer: httpUrl,
  client_id: z.string().min(1).max(256),
  /** A confidential client's secret, in a file (client_secret_basic); absent: a public client (PKCE only). */
  client_secret_file: z.string().min(1).optional(),
  scopes: z.array(z.string().min(1).max(128)).max(32).default(['openid']),
});

/** Human approvals of parked calls (docs/approvals.md). */
export const approvalsConfigSchema = z.strictObject({
  /** Off: an `approval` obligation denies (`obligation_unsupported`). */
  enabled: z.boolean().default(true),
  /**
   * Where the approval page is, as clients reach it: `<page_url>/<id>` is named in the URL
   * elicitation. Absent: this service's own `/approvals` on its listen address, when its port is fixed.
   */
  page_url: httpUrl.optional(),
  /** How long a parked call waits for an approver, unless the obligation asks less; capped below. */
  request_ttl_seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(900),
  max_request_ttl_seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(86_400),
  /** How long a grant waits for its one use, unless the obligation says otherwise; capped below. */
  grant_ttl_seconds: z.number().int().min(1).max(86_400).default(300),
  max_grant_ttl_seconds: z.number().int().min(1).max(86_400).default(3_600),
  /** How long a decided, used or expired request stays readable in the store (the audit trail keeps it for good). */
  retention_seconds: z
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .default(86_400),
  /** How often expiries are recorded (`approval.expired`) and old records dropped. */
  sweep_interval_seconds: z.number().int().min(1).max(3_600).default(30),
  /** The approval page's sign-in; absent: no page is served (approvers use the API). */
  sign_in: approvalSignInSchema.optional(),
});

export type ApprovalsConfig = z.infer<typeof approvalsConfigSchema>;
