import { z } from 'zod';

/** Asymmetric JWS algorithms; HMAC is never accepted here. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;

const jwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() });

/** One trusted token issuer with a local key set. */
export const issuerConfigSchema = z.strictObject({
  issuer: z.string().min(1),
  jwks: z.strictObject({ keys: z.array(jwkSchema).min(1) }).optional(),
  jwks_file: z.string().min(1).optional(),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default([...ASYMMETRIC_ALGORITHMS]),
  /** Claim holding roles: an array of strings. */
  roles_claim: z.string().min(1).default('roles'),
  clock_tolerance_seconds: z.number().int().min(0).max(300).default(30),
}).refine((v) => (v.jwks === undefined) !== (v.jwks_file === undefined), {
  message: 'set exactly one of jwks or jwks_file',
});

export type IssuerConfig = z.infer<typeof issuerConfigSchema>;

/** Identity: which issuers are trusted, and the token cache. */
export const identityConfigSchema = z.strictObject({
  issuers: z.array(issuerConfigSchema).default([]),
  token_cache_size: z.number().int().min(0).max(1_000_000).default(10_000),
  max_token_bytes: z.number().int().min(256).max(65_536).default(8_192),
});
