// The JWS algorithms the service verifies: one list for tokens and for bundle signatures.

/** Asymmetric JWS algorithms: the default, and the only kind a JWKS may serve. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** HMAC algorithms: only with an explicitly configured secret. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
