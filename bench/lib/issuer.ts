import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { issuerConfigSchema, type IssuerConfig } from '../../src/config/identity.ts';

/** The issuer and MCP server the benchmark's tokens name. */
export const BENCH_ISSUER = 'https://idp.bench.example';
export const BENCH_SERVER = 'https://mcp.example.com/files';

/** A throwaway ES256 identity provider: its issuer config (public JWKS) and a minting function. */
export interface BenchIssuer {
  readonly config: IssuerConfig;
  mint(claims?: Record<string, unknown>): Promise<string>;
}

export async function createBenchIssuer(): Promise<BenchIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'ES256', use: 'sig' };
  return {
    // Through the schema, so that defaults the service adds later apply here too.
    config: issuerConfigSchema.parse({
      issuer: BENCH_ISSUER,
      jwks: { keys: [publicJwk] },
      algorithms: ['ES256'],
    }),
    async mint(claims = {}) {
      return new SignJWT({ roles: ['reader'], client_id: 'bench-client', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench-1', typ: 'at+jwt' })
        .setIssuer(BENCH_ISSUER)
        .setAudience(BENCH_SERVER)
        .setSubject('alice')
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(privateKey);
    },
  };
}
