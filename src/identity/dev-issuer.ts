import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
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
  let privateJwk: JWK;
  if (existsSync(file)) {
    privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } else {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: `dev-${Date.now().toString(36)}`, alg: 'EdDSA' };
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(privateJwk), { mode: 0o600 });
  }
  const { d: _secret, ...publicJwk } = privateJwk;
  const signingKey = await importJWK(privateJwk, 'EdDSA');
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
        .setProtectedHeader({ alg: 'EdDSA', kid: privateJwk.kid as string, typ: 'at+jwt' })
        .setIssuer(DEV_ISSUER)
        .setSubject(claims.sub)
        .setAudience(claims.audience)
        .setIssuedAt()
        .setExpirationTime(`${claims.ttl_seconds ?? 3600}s`)
        .sign(signingKey);
    },
  };
}
