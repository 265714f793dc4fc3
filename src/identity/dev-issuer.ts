import { SignJWT } from 'jose';
import { loadOrCreateSigningKey } from '../keys/key-file.ts';
import { issuerConfigSchema, type IssuerConfig } from '../config/identity.ts';

/** The issuer name of tokens minted in dev mode. */
export const DEV_ISSUER = 'urn:mcp-warden:dev';

/** A locally generated signing key for dev mode, kept in one file (mode 0600). */
export interface DevIssuer {
  readonly issuerConfig: IssuerConfig;
  mint(claims: DevTokenClaims): Promise<string>;
}

export interface DevTokenClaims {
  sub: string;
  audience: string;
  roles?: readonly string[];
  scope?: string;
  client_id?: string;
  ttl_seconds?: number;
}

/** Loads the dev key from `file`, generating it on first use. */
export async function loadDevIssuer(file: string): Promise<DevIssuer> {
  const { kid, key: signingKey, publicJwk } = await loadOrCreateSigningKey(file, 'dev');
  return {
    issuerConfig: issuerConfigSchema.parse({
      issuer: DEV_ISSUER,
      jwks: { keys: [publicJwk] },
      algorithms: ['EdDSA'],
      require_typ: 'at+jwt',
    }),
    async mint(claims) {
      const body: Record<string, unknown> = { roles: claims.roles ?? [] };
      if (claims.scope) body.scope = claims.scope;
      if (claims.client_id) body.client_id = claims.client_id;
      return new SignJWT(body)
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
        .setIssuer(DEV_ISSUER)
        .setSubject(claims.sub)
        .setAudience(claims.audience)
        .setIssuedAt()
        .setExpirationTime(`${claims.ttl_seconds ?? 3600}s`)
        .sign(signingKey);
    },
  };
}
