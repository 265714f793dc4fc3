import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, UnsecuredJWT } from 'jose';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { trustDomainConfigSchema, issuerConfigSchema } from '../../src/config/identity.ts';
import { decide } from '../../src/decision/decide.ts';
import type { DecideRequest } from '../../src/decision/types.ts';
import { createTokenVerifier } from '../../src/identity/verifier.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { createTestKey, ISSUER, SERVER, signToken, type TestKey } from '../helpers/tokens.ts';

/**
 * Every attack on the token is tried through the whole decision pipeline, and must be
 * a deny with its own reason code.
 */
describe('JWT attacks are refused, each with its own code', () => {
  let t: TestCore;
  let attacker: TestKey;
  // A loopback server standing in for an attacker's key URL: it must never be asked.
  let lure: Server;
  let lureHits = 0;
  let lureUrl = '';

  beforeAll(async () => {
    attacker = await createTestKey('ES256', 'k1');
    lure = createServer((_req, res) => {
      lureHits += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [attacker.publicJwk] }));
    });
    await new Promise<void>((resolve) => lure.listen(0, '127.0.0.1', resolve));
    lureUrl = `http://127.0.0.1:${(lure.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => {
    lure.close();
  });
  beforeEach(async () => {
    t = await createTestCore();
  });

  const call = (token: string | undefined, server = SERVER): DecideRequest => ({
    token,
    server,
    mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
  });

  async function expectDenied(token: string | undefined, code: string, server = SERVER) {
    const decision = await decide(t.deps, call(token, server), PEP);
    expect(decision.allow).toBe(false);
    expect(decision.reasons.map((r) => r.code)).toEqual([code]);
  }

  const nowSeconds = () => Math.floor(t.clock.now / 1000);
  const claimsFor = (extra: Record<string, unknown> = {}) =>
    base64url.encode(
      JSON.stringify({
        iss: ISSUER,
        sub: 'alice',
        aud: SERVER,
        iat: nowSeconds(),
        exp: nowSeconds() + 600,
        roles: ['admin'],
        ...extra,
      }),
    );

  it('control: a valid token is allowed', async () => {
    expect((await decide(t.deps, call(await t.idp.mint()), PEP)).allow).toBe(true);
  });

  it('no token → token_missing', async () => {
    await expectDenied(undefined, 'token_missing');
  });

  it('alg "none" → algorithm_not_allowed', async () => {
    const token = new UnsecuredJWT({ roles: ['admin'] })
      .setIssuer(ISSUER)
      .setSubject('alice')
      .setAudience(SERVER)
      .setIssuedAt(nowSeconds())
      .setExpirationTime(nowSeconds() + 600)
      .encode();
    await expectDenied(token, 'algorithm_not_allowed');
  });

  it('HS256 signed with the issuer public key as the secret → algorithm_not_allowed', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'k1' }));
    const payload = claimsFor();
    const secret = Buffer.from(JSON.stringify(t.idp.publicJwk));
    const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
    await expectDenied(`${header}.${payload}.${sig}`, 'algorithm_not_allowed');
  });

  it('an unknown kid → key_unknown', async () => {
    await expectDenied(await t.idp.mint({}, { key: await createTestKey('ES256', 'rotated-away') }), 'key_unknown');
  });

  for (const header of ['jku', 'x5u', 'jwk'] as const) {
    const name = `a ${header} header pointing at the attacker's key is ignored and never fetched → signature_invalid`;
    it(name, async () => {
      const value = header === 'jwk' ? attacker.publicJwk : lureUrl;
      const token = await signToken(attacker, { roles: ['admin'] }, { now: t.clock.now, header: { [header]: value } });
      await expectDenied(token, 'signature_invalid');
      expect(lureHits).toBe(0);
    });
  }

  it('expired → token_expired', async () => {
    await expectDenied(await t.idp.mint({}, { expiresIn: -1 }), 'token_expired');
  });

  it('nbf in the future → token_not_yet_valid', async () => {
    await expectDenied(await t.idp.mint({ nbf: nowSeconds() + 3600 }), 'token_not_yet_valid');
  });

  it('a wrong issuer → issuer_untrusted', async () => {
    await expectDenied(await t.idp.mint({}, { issuer: 'https://evil.example' }), 'issuer_untrusted');
  });

  it('the audience of another MCP server → audience_mismatch', async () => {
    await expectDenied(await t.idp.mint({}, { audience: 'https://other.example/mcp' }), 'audience_mismatch');
  });

  it('missing exp → claim_missing', async () => {
    await expectDenied(await t.idp.mint({}, { expiresIn: null }), 'claim_missing');
  });

  it('missing sub → claim_missing', async () => {
    await expectDenied(await t.idp.mint({}, { subject: null }), 'claim_missing');
  });

  it('a tampered payload (role escalation) → signature_invalid', async () => {
    const [h, , s] = (await t.idp.mint()).split('.');
    await expectDenied(`${h}.${claimsFor()}.${s}`, 'signature_invalid');
  });

  it('a tampered signature → signature_invalid', async () => {
    const [h, p, s] = (await t.idp.mint()).split('.') as [string, string, string];
    const flipped = Buffer.from(s, 'base64url');
    flipped[0] = (flipped[0] as number) ^ 0xff;
    await expectDenied(`${h}.${p}.${flipped.toString('base64url')}`, 'signature_invalid');
  });

  it('a signature by another key under a trusted iss and kid → signature_invalid', async () => {
    await expectDenied(await t.idp.mint({ roles: ['admin'] }, { key: attacker }), 'signature_invalid');
  });

  it('an oversized token → token_too_large', async () => {
    await expectDenied(await t.idp.mint({ padding: 'x'.repeat(9000) }), 'token_too_large');
  });

  it('garbage → invalid_token', async () => {
    await expectDenied('not.a.jwt', 'invalid_token');
  });

  it('a cached token is still audience-checked for another server', async () => {
    const token = await t.idp.mint();
    expect((await decide(t.deps, call(token), PEP)).allow).toBe(true);
    await expectDenied(token, 'audience_mismatch', 'https://other.example/mcp');
  });

  it('an ID token or a typ JWT token used as an access token → token_type_invalid (at+jwt by default)', async () => {
    await expectDenied(await t.idp.mint({ nonce: 'n' }, { header: { typ: 'JWT' } }), 'token_type_invalid');
    await expectDenied(await t.idp.mint({}, { header: { typ: undefined } }), 'token_type_invalid');
  });

  it('iat an hour in the future → token_issued_in_future', async () => {
    await expectDenied(await t.idp.mint({}, { now: t.clock.now + 3_600_000 }), 'token_issued_in_future');
  });

  it('a cached token is never used past its exp', async () => {
    const token = await t.idp.mint({}, { expiresIn: 60 });
    expect((await decide(t.deps, call(token), PEP)).allow).toBe(true);
    t.clock.advance(61_000);
    await expectDenied(token, 'token_expired');
  });
});

describe('JWT-SVIDs and token types', () => {
  const now = Date.UTC(2026, 10, 23, 12);
  let svidKey: TestKey;
  let idpKey: TestKey;
  let verifier: ReturnType<typeof createTokenVerifier>;

  beforeAll(async () => {
    svidKey = await createTestKey('ES256', 'spire-1');
    idpKey = await createTestKey('RS256', 'idp-1');
    verifier = createTokenVerifier({
      issuers: [
        issuerConfigSchema.parse({ issuer: ISSUER, jwks: { keys: [idpKey.publicJwk] }, require_typ: 'at+jwt' }),
      ],
      trustDomains: [
        trustDomainConfigSchema.parse({ trust_domain: 'example.org', jwks: { keys: [svidKey.publicJwk] } }),
      ],
      servers: [SERVER],
      cacheSize: 10,
      maxTokenBytes: 8192,
      now: () => now,
    });
  });

  const svid = (sub: string, key = svidKey) =>
    signToken(key, {}, { now, issuer: null, subject: sub, header: { typ: 'JWT' } });

  it('accepts a JWT-SVID of a trusted domain as a workload principal', async () => {
    const principal = await verifier.verify(await svid('spiffe://example.org/ns/prod/sa/billing'), SERVER);
    expect(principal).toMatchObject({
      kind: 'workload',
      spiffe_id: 'spiffe://example.org/ns/prod/sa/billing',
      iss: 'spiffe://example.org',
    });
  });

  it('refuses a JWT-SVID from another trust domain → trust_domain_untrusted', async () => {
    await expect(verifier.verify(await svid('spiffe://evil.org/ns/prod/sa/billing'), SERVER)).rejects.toMatchObject({
      code: 'trust_domain_untrusted',
    });
  });

  it('refuses a JWT-SVID signed with an algorithm the standard does not allow → algorithm_not_allowed', async () => {
    const ed = await createTestKey('EdDSA', 'spire-1');
    await expect(verifier.verify(await svid('spiffe://example.org/x', ed), SERVER)).rejects.toMatchObject({
      code: 'algorithm_not_allowed',
    });
  });

  it('refuses an ID token where an access token (typ at+jwt) is required → token_type_invalid', async () => {
    const idToken = await signToken(idpKey, { nonce: 'n' }, { now, header: { typ: 'JWT' } });
    await expect(verifier.verify(idToken, SERVER)).rejects.toMatchObject({ code: 'token_type_invalid' });
    const accessToken = await signToken(idpKey, {}, { now });
    await expect(verifier.verify(accessToken, SERVER)).resolves.toMatchObject({ kind: 'user', sub: 'alice' });
  });

  it('refuses a server this service does not decide for → server_unknown', async () => {
    const token = await signToken(idpKey, {}, { now, audience: 'https://elsewhere.example/mcp' });
    await expect(verifier.verify(token, 'https://elsewhere.example/mcp')).rejects.toMatchObject({
      code: 'server_unknown',
    });
  });
});

describe('a partner IdP is trusted only for what it is configured for', () => {
  const PARTNER = 'https://partner-idp.example';
  let t: TestCore;
  let partnerKey: TestKey;

  beforeEach(async () => {
    t = await createTestCore();
    partnerKey = await createTestKey('ES256', 'partner-1');
    const ownIssuer = { ...t.idp.issuer, roles: ['*'], scopes: ['*'] };
    const partner = issuerConfigSchema.parse({
      issuer: PARTNER,
      jwks: { keys: [partnerKey.publicJwk] },
      servers: [SERVER],
      roles: ['reader'],
      scopes: ['mcp:read'],
    });
    const verifier = createTokenVerifier({
      issuers: [ownIssuer, partner],
      cacheSize: 10,
      maxTokenBytes: 8192,
      now: t.clock.read,
    });
    t.deps = { ...t.deps, verifier };
  });

  const write = (token: string, server = SERVER): DecideRequest => ({
    token,
    server,
    mcp: { method: 'tools/call', params: { name: 'fs_write', arguments: { path: '/srv/data/a', content: 'x' } } },
  });
  const partnerToken = (claims: Record<string, unknown>, audience = SERVER) =>
    signToken(partnerKey, claims, { now: t.clock.now, issuer: PARTNER, audience });

  it('control: the own IdP asserting admin may write', async () => {
    const decision = await decide(t.deps, write(await t.idp.mint({ roles: ['admin'] })), PEP);
    expect(decision.allow).toBe(true);
  });

  it('a partner IdP asserting admin (as a role or as the mcp:admin scope) does not get it', async () => {
    for (const claims of [
      { roles: ['admin'] },
      { roles: [], scope: 'mcp:admin' },
      { roles: ['reader', 'admin', 'writer'] },
    ]) {
      const decision = await decide(t.deps, write(await partnerToken(claims)), PEP);
      expect(decision.allow, JSON.stringify(claims)).toBe(false);
      expect(decision.reasons.length, JSON.stringify(claims)).toBeGreaterThan(0);
      // The drop is on the record: who tried to assert what.
      const record = t.audit.saved.find((r) => r.decision_id === decision.decision_id);
      expect(record?.detail, JSON.stringify(claims)).toMatchObject(
        (claims.roles as string[]).includes('admin')
          ? { dropped_roles: expect.arrayContaining(['admin']) }
          : { dropped_scopes: ['mcp:admin'] },
      );
    }
    // What it is trusted for still works: a reader may read.
    const read = { ...write(await partnerToken({ roles: ['reader', 'admin'] })) };
    read.mcp = { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } };
    expect((await decide(t.deps, read, PEP)).allow).toBe(true);
  });

  it('a partner IdP token for a server it is not trusted for → issuer_untrusted_for_server', async () => {
    const other = 'https://mcp.example.com/payroll';
    const decision = await decide(t.deps, write(await partnerToken({ roles: ['reader'] }, other), other), PEP);
    expect(decision.reasons.map((r) => r.code)).toEqual(['issuer_untrusted_for_server']);
  });
});
