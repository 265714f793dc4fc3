import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { issuerConfigSchema, type IssuerConfig } from '../../src/config/identity.ts';

export const ISSUER = 'https://idp.test.example';
export const SERVER = 'https://mcp.example.com/files';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** A signing key with its public JWK. */
export interface TestKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: PrivateKey;
  readonly publicJwk: JWK;
}

export async function createTestKey(alg = 'ES256', kid = 'k1'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface MintOptions {
  audience?: string | string[];
  /** `null` leaves `iss` out. */
  issuer?: string | null;
  /** Seconds from now; negative for an expired token; `null` leaves `exp` out. */
  expiresIn?: number | null;
  now?: number;
  /** `null` leaves `sub` out. */
  subject?: string | null;
  /** Extra or overriding protected header parameters (kid, typ, jku, x5u, jwk, …). */
  header?: Record<string, unknown>;
  key?: TestKey;
}

/** Signs a JWT with sensible defaults that each test overrides. */
export async function signToken(
  key: TestKey,
  claims: Record<string, unknown>,
  options: MintOptions & { now: number },
): Promise<string> {
  const now = Math.floor(options.now / 1000);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...options.header })
    .setAudience(options.audience ?? SERVER)
    .setIssuedAt(now);
  if (options.issuer !== null) jwt.setIssuer(options.issuer ?? ISSUER);
  if (options.expiresIn !== null) jwt.setExpirationTime(now + (options.expiresIn ?? 600));
  if (options.subject !== null) jwt.setSubject(options.subject ?? 'alice');
  return jwt.sign(key.privateKey);
}

/** A test identity provider: one ES256 key, its JWKS and an issuer config. */
export interface TestIdp {
  readonly issuer: IssuerConfig;
  readonly key: TestKey;
  readonly publicJwk: JWK;
  mint(claims?: Record<string, unknown>, options?: MintOptions): Promise<string>;
}

export async function createTestIdp(issuerName = ISSUER, clock: () => number = Date.now): Promise<TestIdp> {
  const key = await createTestKey('ES256', 'k1');
  return {
    issuer: issuerConfigSchema.parse({
      issuer: issuerName,
      jwks: { keys: [key.publicJwk] },
      algorithms: ['ES256'],
      clock_tolerance_seconds: 0,
    }),
    key,
    publicJwk: key.publicJwk,
    mint(claims = {}, options = {}) {
      return signToken(
        options.key ?? key,
        { roles: ['reader'], ...claims },
        { issuer: issuerName, ...options, now: options.now ?? clock() },
      );
    },
  };
}
