import { beforeAll, describe, expect, it } from 'vitest';
import { issuerConfigSchema } from '../../src/config/identity.ts';
import { createTokenVerifier, type TokenVerifier } from '../../src/identity/verifier.ts';
import { createTestKey, ISSUER, SERVER, signToken, type TestKey } from '../helpers/tokens.ts';

const now = Date.UTC(2026, 10, 23, 12);
const PARTNER = 'https://partner-idp.example';
const PARTNER_SERVER = 'https://mcp.example.com/partner';

describe('an issuer counts only for the servers, roles and scopes it is trusted for', () => {
  let own: TestKey;
  let partner: TestKey;
  let verifier: TokenVerifier;

  beforeAll(async () => {
    own = await createTestKey('ES256', 'own');
    partner = await createTestKey('ES256', 'partner');
    verifier = createTokenVerifier({
      issuers: [
        issuerConfigSchema.parse({ issuer: ISSUER, jwks: { keys: [own.publicJwk] }, roles: ['*'], scopes: ['*'] }),
        issuerConfigSchema.parse({
          issuer: PARTNER,
          jwks: { keys: [partner.publicJwk] },
          servers: [PARTNER_SERVER],
          roles: ['reader'],
          scopes: ['mcp:read'],
        }),
      ],
      cacheSize: 10,
      maxTokenBytes: 8192,
      now: () => now,
    });
  });

  const partnerToken = (claims: Record<string, unknown>, audience: string | string[] = PARTNER_SERVER) =>
    signToken(partner, claims, { now, issuer: PARTNER, audience });

  it('refuses a token of an issuer not trusted for the server → issuer_untrusted_for_server', async () => {
    const token = await partnerToken({ roles: ['reader'] }, SERVER);
    await expect(verifier.verify(token, SERVER)).rejects.toMatchObject({ code: 'issuer_untrusted_for_server' });
  });

  it('refuses it on a cache hit too: a token cached for one server is not reused for another', async () => {
    const token = await partnerToken({ roles: ['reader'] }, [PARTNER_SERVER, SERVER]);
    await expect(verifier.verify(token, PARTNER_SERVER)).resolves.toMatchObject({ iss: PARTNER });
    await expect(verifier.verify(token, SERVER)).rejects.toMatchObject({ code: 'issuer_untrusted_for_server' });
  });

  it('a partner asserting admin does not get it: the role is dropped, and the drop is in the principal', async () => {
    const token = await partnerToken({ roles: ['admin', 'reader'], scope: 'mcp:admin mcp:read' });
    const principal = await verifier.verify(token, PARTNER_SERVER);
    expect(principal).toMatchObject({
      roles: ['reader'],
      scopes: ['mcp:read'],
      dropped_roles: ['admin'],
      dropped_scopes: ['mcp:admin'],
    });
  });

  it('the issuer trusted for everything keeps every role and scope', async () => {
    const token = await signToken(own, { roles: ['admin'], scope: 'mcp:admin' }, { now });
    const principal = await verifier.verify(token, SERVER);
    expect(principal).toMatchObject({ roles: ['admin'], scopes: ['mcp:admin'], dropped_roles: [], dropped_scopes: [] });
  });

  it('roles taken from scope are limited by the roles list', async () => {
    const fromScope = createTokenVerifier({
      issuers: [
        issuerConfigSchema.parse({
          issuer: PARTNER,
          jwks: { keys: [partner.publicJwk] },
          roles_claim: 'scope',
          roles: ['reader'],
          scopes: ['*'],
        }),
      ],
      cacheSize: 0,
      maxTokenBytes: 8192,
      now: () => now,
    });
    const principal = await fromScope.verify(await partnerToken({ scope: 'reader admin' }), PARTNER_SERVER);
    expect(principal).toMatchObject({ roles: ['reader'], dropped_roles: ['admin'], scopes: ['reader', 'admin'] });
  });
});
