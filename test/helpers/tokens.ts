import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { IssuerConfig } from '../../src/config/identity.ts';

export const ISSUER = 'https://idp.test.example';
export const SERVER = 'https://mcp.example.com/files';

/** A test identity provider: one ES256 key, its JWKS and an issuer config. */
export interface TestIdp {
  readonly issuer: IssuerConfig;
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  readonly publicJwk: JWK;
  mint(claims?: Record<string, unknown>, options?: MintOptions): Promise<string>;
}

export interface MintOptions {
  audience?: string | string[];
  issuer?: string;
  /** Seconds from `now`; negative for an expired token. */
  expiresIn?: number;
  now?: number;
  subject?: string | null;
  kid?: string;
}

export async function createTestIdp(issuerName = ISSUER, clock: () => number = Date.now): Promise<TestIdp> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  return {
    issuer: {
      issuer: issuerName,
      jwks: { keys: [publicJwk as { kty: string }] },
      algorithms: ['ES256'],
      roles_claim: 'roles',
      clock_tolerance_seconds: 0,
    },
    privateKey,
    publicJwk,
    async mint(claims = {}, options = {}) {
      const now = Math.floor((options.now ?? clock()) / 1000);
      const jwt = new SignJWT({ roles: ['reader'], ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'k1', typ: 'at+jwt' })
        .setIssuer(options.issuer ?? issuerName)
        .setAudience(options.audience ?? SERVER)
        .setIssuedAt(now)
        .setExpirationTime(now + (options.expiresIn ?? 600));
      if (options.subject !== null) jwt.setSubject(options.subject ?? 'alice');
      return jwt.sign(privateKey);
    },
  };
}
