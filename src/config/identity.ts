import { z } from 'zod';
import { isSafeKeyUrl, KEY_URL_RULE } from '../identity/key-url.ts';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from '../keys/algorithms.ts';

export { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS };

/** What the JWT-SVID standard allows (RSA, ECDSA, RSA-PSS). */
export const JWT_SVID_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
] as const;

/** Claims passed to policy as `principal.claims` unless an issuer says otherwise. */
export const DEFAULT_POLICY_CLAIMS = ['aud', 'exp', 'iat', 'azp', 'email', 'name', 'groups', 'tenant'];

const jwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() });
const jwksSchema = z.strictObject({ keys: z.array(jwkSchema).min(1) });

/** Where keys come from: exactly one of these per issuer or trust domain. */
const keySourceFields = {
  jwks: jwksSchema.optional(),
  jwks_file: z.string().min(1).optional(),
  jwks_uri: z
    .url({ protocol: /^https?$/ })
    .refine(isSafeKeyUrl, { message: KEY_URL_RULE })
    .optional(),
  /** Timeout of one JWKS or discovery fetch. */
  jwks_timeout_ms: z.number().int().min(50).max(30_000).default(2_000),
  /**
   * After a fetch, how long an unknown `kid` waits before it may trigger another; after a
   * failed JWKS or discovery fetch, how long before the next one is tried.
   */
  jwks_cooldown_seconds: z.number().int().min(0).max(3_600).default(30),
  /** Age after which fetched keys are refreshed. */
  jwks_max_age_seconds: z.number().int().min(1).max(86_400).default(600),
  clock_tolerance_seconds: z.number().int().min(0).max(300).default(30),
};

type KeySourceShape = {
  jwks?: unknown;
  jwks_file?: unknown;
  jwks_uri?: unknown;
  discovery?: unknown;
  hmac_secret?: unknown;
};
const sourceCount = (v: KeySourceShape) =>
  [v.jwks, v.jwks_file, v.jwks_uri, v.discovery || undefined, v.hmac_secret].filter((x) => x !== undefined).length;

/** What an issuer is trusted to assert: names, or `["*"]` for anything. */
const grantList = z
  .array(z.string().min(1))
  .refine((v) => !v.includes('*') || v.length === 1, { message: '"*" (anything) stands alone' })
  .optional();

/** One trusted token issuer (OAuth access tokens, OIDC). */
export const issuerConfigSchema = z
  .strictObject({
    issuer: z.string().min(1),
    ...keySourceFields,
    /** Fetch `jwks_uri` from `<issuer>/.well-known/openid-configuration`. */
    discovery: z.boolean().default(false),
    /** An HMAC secret (≥ 32 bytes); the only way HS* algorithms are accepted. */
    hmac_secret: z.string().min(32).optional(),
    algorithms: z
      .array(z.enum([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS]))
      .min(1)
      .optional(),
    /**
     * The JWT `typ` header required: `at+jwt` (RFC 9068 §4) refuses ID tokens and other
     * JWTs of the issuer; `null` checks nothing (for IdPs that send `typ: JWT`).
     */
    require_typ: z.string().min(1).nullable().default('at+jwt'),
    /** When set, a token whose `iat` is older than this is refused (`token_too_old`). */
    max_token_age_seconds: z.number().int().min(1).max(31_536_000).optional(),
    /** The MCP servers (of `identity.servers`) this issuer's tokens are accepted for; absent = all. */
    servers: z.array(z.string().min(1)).min(1).optional(),
    /**
     * The role names this issuer may assert; others are dropped (`principal.dropped_roles`).
     * `["*"]` = any. Absent = any, allowed only while it is the one configured issuer.
     */
    roles: grantList,
    /** The scopes this issuer may assert, as `roles` (`principal.dropped_scopes`). */
    scopes: grantList,
    /** Claims required beyond `exp`, `iat` and `sub`. */
    required_claims: z.array(z.string().min(1)).default([]),
    /** Where roles come from: a claim holding an array (dotted path allowed), or `scope`. */
    roles_claim: z.string().min(1).default('roles'),
    /** Claims copied into the policy input; nothing else (never the raw token). */
    policy_claims: z.array(z.string().min(1)).default(DEFAULT_POLICY_CLAIMS),
  })
  .refine((v) => sourceCount(v) === 1, {
    message: 'set exactly one key source: jwks, jwks_file, jwks_uri, discovery or hmac_secret',
  })
  .refine((v) => !v.discovery || isSafeKeyUrl(v.issuer), {
    message: `with discovery, the issuer URL ${KEY_URL_RULE}`,
    path: ['issuer'],
  })
  .refine((v) => (v.algorithms ?? []).every((a) => (v.hmac_secret ? a.startsWith('HS') : !a.startsWith('HS'))), {
    message: 'HS* algorithms need hmac_secret, and an hmac_secret issuer accepts only HS* algorithms',
    path: ['algorithms'],
  })
  .transform((v) => ({
    ...v,
    algorithms: v.algorithms ?? (v.hmac_secret ? ['HS256'] : [...ASYMMETRIC_ALGORITHMS]),
  }));

/** One SPIFFE trust domain whose JWT-SVIDs are accepted. */
export const trustDomainConfigSchema = z
  .strictObject({
    trust_domain: z.string().regex(/^[a-z0-9._-]+$/, 'a trust domain name such as example.org (no scheme)'),
    ...keySourceFields,
    algorithms: z
      .array(z.enum(JWT_SVID_ALGORITHMS))
      .min(1)
      .default([...JWT_SVID_ALGORITHMS]),
  })
  .refine((v) => sourceCount(v) === 1, { message: 'set exactly one key source: jwks, jwks_file or jwks_uri' });

export type IssuerConfig = z.output<typeof issuerConfigSchema>;
export type UpstreamAssertionConfig = z.output<typeof upstreamAssertionConfigSchema>;
export type TrustDomainConfig = z.output<typeof trustDomainConfigSchema>;
/** What a key source needs, common to issuers and trust domains. */
export type KeySourceConfig = Pick<
  IssuerConfig,
  'jwks' | 'jwks_file' | 'jwks_uri' | 'jwks_timeout_ms' | 'jwks_cooldown_seconds' | 'jwks_max_age_seconds'
> & { discovery?: boolean; hmac_secret?: string | undefined; issuer?: string };

/**
 * With several issuers, each must say which roles and scopes it may assert: otherwise
 * any of them — a partner IdP included — could assert `admin`. An issuer's servers must
 * be servers this service decides for.
 */
function checkIssuerTrust(v: { issuers: IssuerConfig[]; servers: string[] }, ctx: z.RefinementCtx): void {
  v.issuers.forEach((issuer, i) => {
    for (const field of ['roles', 'scopes'] as const) {
      if (v.issuers.length > 1 && issuer[field] === undefined) {
        const message = `required when several issuers are configured: the ${field} this issuer may assert`;
        ctx.addIssue({
          code: 'custom',
          path: ['issuers', i, field],
          message: `${message} ([] for none, ["*"] for any)`,
        });
      }
    }
    const unknown = v.servers.length === 0 ? [] : (issuer.servers ?? []).filter((s) => !v.servers.includes(s));
    if (unknown.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['issuers', i, 'servers'],
        message: `not in identity.servers: ${unknown.join(', ')}`,
      });
    }
  });
}

/**
 * Identity assertions this service signs for upstreams (docs/identity.md): a short-lived
 * JWT of the verified principal, so an upstream behind a PEP can bind its own state to
 * the user without ever seeing the client's token.
 */
export const upstreamAssertionConfigSchema = z.strictObject({
  /** The Ed25519 private JWK; created (mode 0600, exclusive create) on first use. */
  key_file: z.string().min(1).default('var/keys/upstream-identity.jwk'),
  /** The assertions' `iss`; upstreams check it. */
  issuer: z.string().min(1).default('mcp-warden'),
  /** Lifetime of one assertion; it never outlives the client's token either. */
  ttl_seconds: z.number().int().min(5).max(300).default(60),
  /**
   * The audience of the assertions for each MCP server (the upstream behind it, e.g. its
   * URL). A server with no entry gets none; a PEP asking for one is refused.
   */
  audiences: z.record(z.string().min(1), z.string().min(1)).default({}),
});

/** Identity: trusted issuers and trust domains, accepted servers, the token cache. */
export const identityConfigSchema = z
  .strictObject({
    issuers: z.array(issuerConfigSchema).default([]),
    spiffe: z
      .strictObject({ trust_domains: z.array(trustDomainConfigSchema).default([]) })
      .default({ trust_domains: [] }),
    /**
     * The MCP servers (canonical resource URIs) this service decides for. When set, a
     * request for another server is refused; tokens must name the server as audience.
     */
    servers: z.array(z.string().min(1)).default([]),
    token_cache_size: z.number().int().min(0).max(1_000_000).default(10_000),
    max_token_bytes: z.number().int().min(256).max(65_536).default(8_192),
    upstream_assertion: upstreamAssertionConfigSchema.optional(),
    /** Delegated identity (RFC 8693 actor chains, agent JWT-SVIDs; docs/identity.md, "Delegation"). */
    delegation: z
      .strictObject({
        /** The longest actor chain accepted; a longer one is refused `delegation_too_deep`. 0: no delegation. */
        max_depth: z.number().int().min(0).max(16).default(3),
      })
      .default({ max_depth: 3 }),
    /** When a principal counts as shared (docs/identity.md, "Shared accounts"); a threshold of 0 is off. */
    shared_accounts: z
      .strictObject({
        window_seconds: z.number().int().min(60).max(604_800).default(3_600),
        clients: z.number().int().min(0).max(1_000).default(4),
        workloads: z.number().int().min(0).max(1_000).default(4),
        chains: z.number().int().min(0).max(1_000).default(4),
        max_principals: z.number().int().min(1).max(10_000_000).default(100_000),
      })
      .default({ window_seconds: 3_600, clients: 4, workloads: 4, chains: 4, max_principals: 100_000 }),
  })
  .superRefine(checkIssuerTrust);
