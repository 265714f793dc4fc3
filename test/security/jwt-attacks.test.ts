import { generateKeyPair, SignJWT, UnsecuredJWT, base64url } from 'jose';
import { createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.ts';
import type { DecideRequest } from '../../src/decision/types.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { ISSUER, SERVER } from '../helpers/tokens.ts';

/** Every attack is tried through the full pipeline and must be a deny with its code. */
describe('JWT attacks are refused', () => {
  let t: TestCore;
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

  it('control: a valid token is allowed', async () => {
    const decision = await decide(t.deps, call(await t.idp.mint()), PEP);
    expect(decision.allow).toBe(true);
  });

  it('no token', async () => {
    await expectDenied(undefined, 'token_missing');
  });

  it('alg "none" (unsigned)', async () => {
    const now = Math.floor(t.clock.now / 1000);
    const token = new UnsecuredJWT({ roles: ['admin'] })
      .setIssuer(ISSUER).setSubject('alice').setAudience(SERVER).setExpirationTime(now + 600).encode();
    await expectDenied(token, 'invalid_token');
  });

  it('HS256 signed with the issuer public key as the secret (algorithm confusion)', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'k1' }));
    const now = Math.floor(t.clock.now / 1000);
    const payload = base64url.encode(JSON.stringify({ iss: ISSUER, sub: 'alice', aud: SERVER, exp: now + 600, roles: ['admin'] }));
    const secret = Buffer.from(JSON.stringify(t.idp.publicJwk));
    const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
    await expectDenied(`${header}.${payload}.${sig}`, 'invalid_token');
  });

  it('payload altered after signing (role escalation)', async () => {
    const [h, p, s] = (await t.idp.mint()).split('.');
    const claims = JSON.parse(Buffer.from(p as string, 'base64url').toString());
    claims.roles = ['admin'];
    await expectDenied(`${h}.${base64url.encode(JSON.stringify(claims))}.${s}`, 'invalid_token');
  });

  it('a trusted iss signed by an attacker key', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const now = Math.floor(t.clock.now / 1000);
    const token = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER).setSubject('mallory').setAudience(SERVER).setExpirationTime(now + 600)
      .sign(privateKey);
    await expectDenied(token, 'invalid_token');
  });

  it('an untrusted issuer', async () => {
    await expectDenied(await t.idp.mint({}, { issuer: 'https://evil.example' }), 'issuer_untrusted');
  });

  it('a token minted for another MCP server (audience)', async () => {
    await expectDenied(await t.idp.mint({}, { audience: 'https://other.example/mcp' }), 'audience_mismatch');
  });

  it('an expired token', async () => {
    await expectDenied(await t.idp.mint({}, { expiresIn: -1 }), 'token_expired');
  });

  it('a token without sub', async () => {
    await expectDenied(await t.idp.mint({}, { subject: null }), 'invalid_token');
  });

  it('a token not yet valid (nbf in the future)', async () => {
    await expectDenied(await t.idp.mint({ nbf: Math.floor(t.clock.now / 1000) + 3600 }), 'invalid_token');
  });

  it('garbage and oversized tokens', async () => {
    await expectDenied('not.a.jwt', 'invalid_token');
    await expectDenied('x'.repeat(9000), 'invalid_token');
  });

  it('a cached token is still audience-checked for another server', async () => {
    const token = await t.idp.mint();
    expect((await decide(t.deps, call(token), PEP)).allow).toBe(true);
    await expectDenied(token, 'audience_mismatch', 'https://other.example/mcp');
  });

  it('a cached token is never used past its exp', async () => {
    const token = await t.idp.mint({}, { expiresIn: 60 });
    expect((await decide(t.deps, call(token), PEP)).allow).toBe(true);
    t.clock.advance(61_000);
    await expectDenied(token, 'token_expired');
  });
});
