import { SignJWT } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { issuerConfigSchema } from '../../src/config/identity.ts';
import { createTokenVerifier } from '../../src/identity/verifier.ts';
import { createTestKey, ISSUER, SERVER, signToken, type TestKey } from '../helpers/tokens.ts';

const now = Date.UTC(2026, 10, 23, 12);
const seconds = Math.floor(now / 1000);

function verifierWith(issuer: Record<string, unknown>) {
  return createTokenVerifier({
    issuers: [issuerConfigSchema.parse({ issuer: ISSUER, ...issuer })],
    cacheSize: 10,
    maxTokenBytes: 8192,
    now: () => now,
  });
}

describe('token verifier: configuration', () => {
  it('HMAC works only with an explicit secret, and refuses another secret', async () => {
    const secret = 's'.repeat(40);
    const verifier = verifierWith({ hmac_secret: secret });
    const sign = (key: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setSubject('svc')
        .setAudience(SERVER)
        .setIssuedAt(seconds)
        .setExpirationTime(seconds + 60)
        .sign(new TextEncoder().encode(key));
    await expect(verifier.verify(await sign(secret), SERVER)).resolves.toMatchObject({ sub: 'svc' });
    await expect(verifier.verify(await sign('t'.repeat(40)), SERVER)).rejects.toMatchObject({
      code: 'signature_invalid',
    });
  });

  it('config refuses HS* algorithms without a secret, and two key sources at once', () => {
    expect(() =>
      issuerConfigSchema.parse({ issuer: ISSUER, jwks_uri: 'https://idp/jwks', algorithms: ['HS256'] }),
    ).toThrow(/hmac_secret/);
    expect(() => issuerConfigSchema.parse({ issuer: ISSUER, jwks_uri: 'https://idp/jwks', discovery: true })).toThrow(
      /exactly one key source/,
    );
  });

  it('maps roles from a nested claim or from scope, and passes only the configured claims to policy', async () => {
    const key = await createTestKey('EdDSA', 'k');
    const nested = verifierWith({
      jwks: { keys: [key.publicJwk] },
      roles_claim: 'realm_access.roles',
      policy_claims: ['email'],
    });
    const token = await signToken(
      key,
      { realm_access: { roles: ['writer'] }, email: 'a@example.com', secret_claim: 'x', scope: 'mcp:read' },
      { now },
    );
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
    await expect(verifier.verify(await signToken(key, {}, { now }), SERVER)).rejects.toMatchObject({
      code: 'claim_missing',
    });
    await expect(verifier.verify(await signToken(key, { client_id: 'app' }, { now }), SERVER)).resolves.toMatchObject({
      client_id: 'app',
    });
  });

  it('a user token whose sub looks like a SPIFFE ID stays a user principal', async () => {
    const key = await createTestKey('ES256', 'k');
    const verifier = verifierWith({ jwks: { keys: [key.publicJwk] } });
    const principal = await verifier.verify(
      await signToken(key, {}, { now, subject: 'spiffe://example.org/x' }),
      SERVER,
    );
    expect(principal).toMatchObject({ kind: 'user', spiffe_id: null });
  });
});

describe('token verifier: typ and iat', () => {
  let clock = now;
  const verifier = (key: TestKey, extra: Record<string, unknown> = {}) =>
    createTokenVerifier({
      issuers: [issuerConfigSchema.parse({ issuer: ISSUER, jwks: { keys: [key.publicJwk] }, ...extra })],
      cacheSize: 10,
      maxTokenBytes: 8192,
      now: () => clock,
    });
  let key: TestKey;
  beforeEach(async () => {
    clock = now;
    key = await createTestKey('ES256', 'k');
  });

  it('requires typ at+jwt by default (RFC 9068): typ JWT or none is refused, application/at+jwt is not', async () => {
    const v = verifier(key);
    const typed = (typ: string | undefined) => signToken(key, {}, { now, header: { typ } });
    await expect(v.verify(await typed('JWT'), SERVER)).rejects.toMatchObject({ code: 'token_type_invalid' });
    await expect(v.verify(await typed(undefined), SERVER)).rejects.toMatchObject({ code: 'token_type_invalid' });
    await expect(v.verify(await typed('application/at+jwt'), SERVER)).resolves.toMatchObject({ sub: 'alice' });
    await expect(v.verify(await typed('at+jwt'), SERVER)).resolves.toMatchObject({ sub: 'alice' });
  });

  it('require_typ null opts out (IdPs that send typ JWT); require_typ JWT accepts only that', async () => {
    const jwt = await signToken(key, {}, { now, header: { typ: 'JWT' } });
    await expect(verifier(key, { require_typ: null }).verify(jwt, SERVER)).resolves.toMatchObject({ sub: 'alice' });
    const onlyJwt = verifier(key, { require_typ: 'JWT' });
    await expect(onlyJwt.verify(jwt, SERVER)).resolves.toMatchObject({ sub: 'alice' });
    await expect(onlyJwt.verify(await signToken(key, {}, { now }), SERVER)).rejects.toMatchObject({
      code: 'token_type_invalid',
    });
  });

  it('refuses an iat beyond the clock tolerance in the future, and accepts one within it', async () => {
    const v = verifier(key, { clock_tolerance_seconds: 30 });
    const issuedAt = (iat: number) => signToken(key, {}, { now: iat * 1000 });
    await expect(v.verify(await issuedAt(seconds + 3600), SERVER)).rejects.toMatchObject({
      code: 'token_issued_in_future',
    });
    await expect(v.verify(await issuedAt(seconds + 31), SERVER)).rejects.toMatchObject({
      code: 'token_issued_in_future',
    });
    await expect(v.verify(await issuedAt(seconds + 30), SERVER)).resolves.toMatchObject({ sub: 'alice' });
  });

  it('max_token_age_seconds refuses older tokens, also once cached, and still refuses a future iat', async () => {
    const v = verifier(key, { max_token_age_seconds: 300, clock_tolerance_seconds: 0 });
    // signToken sets iat to its `now`; exp follows `expiresIn` from there.
    const issuedAt = (iat: number) => signToken(key, {}, { now: iat * 1000, expiresIn: 3600 });
    await expect(v.verify(await issuedAt(seconds - 301), SERVER)).rejects.toMatchObject({ code: 'token_too_old' });
    await expect(v.verify(await issuedAt(seconds + 3600), SERVER)).rejects.toMatchObject({
      code: 'token_issued_in_future',
    });

    const young = await issuedAt(seconds - 200);
    await expect(v.verify(young, SERVER)).resolves.toMatchObject({ sub: 'alice' });
    clock += 101_000; // 301 s old now, long before its exp: the cache must not keep serving it
    await expect(v.verify(young, SERVER)).rejects.toMatchObject({ code: 'token_too_old' });
  });
});
