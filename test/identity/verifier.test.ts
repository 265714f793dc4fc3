import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { issuerConfigSchema } from '../../src/config/identity.ts';
import { createTokenVerifier } from '../../src/identity/verifier.ts';
import { createTestKey, ISSUER, SERVER, signToken } from '../helpers/tokens.ts';

const now = Date.UTC(2026, 10, 23, 12);
const seconds = Math.floor(now / 1000);

function verifierWith(issuer: Record<string, unknown>) {
  return createTokenVerifier({ issuers: [issuerConfigSchema.parse({ issuer: ISSUER, ...issuer })], cacheSize: 10, maxTokenBytes: 8192, now: () => now });
}

describe('token verifier: configuration', () => {
  it('HMAC works only with an explicit secret, and refuses another secret', async () => {
    const secret = 's'.repeat(40);
    const verifier = verifierWith({ hmac_secret: secret });
    const sign = (key: string) =>
      new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setSubject('svc').setAudience(SERVER)
        .setIssuedAt(seconds).setExpirationTime(seconds + 60).sign(new TextEncoder().encode(key));
    await expect(verifier.verify(await sign(secret), SERVER)).resolves.toMatchObject({ sub: 'svc' });
    await expect(verifier.verify(await sign('t'.repeat(40)), SERVER)).rejects.toMatchObject({ code: 'signature_invalid' });
  });

  it('config refuses HS* algorithms without a secret, and two key sources at once', () => {
    expect(() => issuerConfigSchema.parse({ issuer: ISSUER, jwks_uri: 'https://idp/jwks', algorithms: ['HS256'] })).toThrow(/hmac_secret/);
    expect(() => issuerConfigSchema.parse({ issuer: ISSUER, jwks_uri: 'https://idp/jwks', discovery: true })).toThrow(/exactly one key source/);
  });

  it('maps roles from a nested claim or from scope, and passes only the configured claims to policy', async () => {
    const key = await createTestKey('EdDSA', 'k');
    const nested = verifierWith({ jwks: { keys: [key.publicJwk] }, roles_claim: 'realm_access.roles', policy_claims: ['email'] });
    const token = await signToken(key, { realm_access: { roles: ['writer'] }, email: 'a@example.com', secret_claim: 'x', scope: 'mcp:read' }, { now });
    const principal = await nested.verify(token, SERVER);
    expect(principal.roles).toEqual(['writer']);
    expect(principal.scopes).toEqual(['mcp:read']);
    expect(principal.claims).toEqual({ email: 'a@example.com' });

    const fromScope = verifierWith({ jwks: { keys: [key.publicJwk] }, roles_claim: 'scope' });
    expect((await fromScope.verify(token, SERVER)).roles).toEqual(['mcp:read']);
  });

  it('requires the claims an issuer adds', async () => {
    const key = await createTestKey('ES256', 'k');
    const verifier = verifierWith({ jwks: { keys: [key.publicJwk] }, required_claims: ['client_id'] });
    await expect(verifier.verify(await signToken(key, {}, { now }), SERVER)).rejects.toMatchObject({ code: 'claim_missing' });
    await expect(verifier.verify(await signToken(key, { client_id: 'app' }, { now }), SERVER)).resolves.toMatchObject({ client_id: 'app' });
  });

  it('a user token whose sub looks like a SPIFFE ID stays a user principal', async () => {
    const key = await createTestKey('ES256', 'k');
    const verifier = verifierWith({ jwks: { keys: [key.publicJwk] } });
    const principal = await verifier.verify(await signToken(key, {}, { now, subject: 'spiffe://example.org/x' }), SERVER);
    expect(principal).toMatchObject({ kind: 'user', spiffe_id: null });
  });
});
