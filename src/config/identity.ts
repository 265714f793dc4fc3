import { z } from 'zod';

/** Asymmetric JWS algorithms: the default, and the only kind a JWKS may serve. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;
/** HMAC algorithms: only with an explicitly configured secret. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
/** What the JWT-SVID standard allows (RSA, ECDSA, RSA-PSS). */
export const JWT_SVID_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'] as const;

/** Claims passed to policy as `principal.claims` unless an issuer says otherwise. */
export const DEFAULT_POLICY_CLAIMS = ['aud', 'exp', 'iat', 'azp', 'email', 'name', 'groups', 'tenant'];

const jwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() });
const jwksSchema = z.strictObject({ keys: z.array(jwkSchema).min(1) });

/** Where keys come from: exactly one of these per issuer or trust domain. */
const keySourceFields = {
  jwks: jwksSchema.optional(),
  jwks_file: z.string().min(1).optional(),
  jwks_uri: z.url({ protocol: /^https?$/ }).optional(),
  /** Timeout of one JWKS or discovery fetch. */
  jwks_timeout_ms: z.number().int().min(50).max(30_000).default(2_000),
  /** After a fetch, how long an unknown `kid` waits before it may trigger another. */
  jwks_cooldown_seconds: z.number().int().min(0).max(3_600).default(30),
  /** Age after which fetched keys are refreshed. */
  jwks_max_age_seconds: z.number().int().min(1).max(86_400).default(600),
  clock_tolerance_seconds: z.number().int().min(0).max(300).default(30),
};

type KeySourceShape = { jwks?: unknown; jwks_file?: unknown; jwks_uri?: unknown; discovery?: unknown; hmac_secret?: unknown };
const sourceCount = (v: KeySourceShape) =>
  [v.jwks, v.jwks_file, v.jwks_uri, v.discovery || undefined, v.hmac_secret].filter((x) => x !== undefined).length;

/** One trusted token issuer (OAuth access tokens, OIDC). */
export const issuerConfigSchema = z
  .strictObject({
    issuer: z.string().min(1),
    ...keySourceFields,
    /** Fetch `jwks_uri` from `<issuer>/.well-known/openid-configuration`. */
    discovery: z.boolean().default(false),
    /** An HMAC secret (≥ 32 bytes); the only way HS* algorithms are accepted. */
    hmac_secret: z.string().min(32).optional(),
    algorithms: z.array(z.enum([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS])).min(1).optional(),
    /** Require this JWT `typ` header, e.g. `at+jwt` (RFC 9068) to refuse ID tokens. */
    require_typ: z.string().min(1).optional(),
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
  .refine(
    (v) => (v.algorithms ?? []).every((a) => (v.hmac_secret ? a.startsWith('HS') : !a.startsWith('HS'))),
    { message: 'HS* algorithms need hmac_secret, and an hmac_secret issuer accepts only HS* algorithms', path: ['algorithms'] },
  )
  .transform((v) => ({
    ...v,
    algorithms: v.algorithms ?? (v.hmac_secret ? ['HS256'] : [...ASYMMETRIC_ALGORITHMS]),
  }));

/** One SPIFFE trust domain whose JWT-SVIDs are accepted. */
export const trustDomainConfigSchema = z
  .strictObject({
    trust_domain: z.string().regex(/^[a-z0-9._-]+$/, 'a trust domain name such as example.org (no scheme)'),
    ...keySourceFields,
    algorithms: z.array(z.enum(JWT_SVID_ALGORITHMS)).min(1).default([...JWT_SVID_ALGORITHMS]),
  })
  .refine((v) => sourceCount(v) === 1, { message: 'set exactly one key source: jwks, jwks_file or jwks_uri' });

export type IssuerConfig = z.output<typeof issuerConfigSchema>;
export type TrustDomainConfig = z.output<typeof trustDomainConfigSchema>;
/** What a key source needs, common to issuers and trust domains. */
export type KeySourceConfig = Pick<
  IssuerConfig,
  'jwks' | 'jwks_file' | 'jwks_uri' | 'jwks_timeout_ms' | 'jwks_cooldown_seconds' | 'jwks_max_age_seconds'
> & { discovery?: boolean; hmac_secret?: string | undefined; issuer?: string };

/** Identity: trusted issuers and trust domains, accepted servers, the token cache. */
export const identityConfigSchema = z.strictObject({
  issuers: z.array(issuerConfigSchema).default([]),
  spiffe: z.strictObject({ trust_domains: z.array(trustDomainConfigSchema).default([]) }).default({ trust_domains: [] }),
  /**
   * The MCP servers (canonical resource URIs) this service decides for. When set, a
   * request for another server is refused; tokens must name the server as audience.
   */
  servers: z.array(z.string().min(1)).default([]),
  token_cache_size: z.number().int().min(0).max(1_000_000).default(10_000),
  max_token_bytes: z.number().int().min(256).max(65_536).default(8_192),
});
