import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issuerConfigSchema } from '../../src/config/identity.ts';
import { createTokenVerifier, type TokenVerifier } from '../../src/identity/verifier.ts';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.ts';
import { createTestKey, ISSUER, SERVER, signToken, type TestKey } from '../helpers/tokens.ts';

describe('remote JWKS against a real HTTP server on loopback', () => {
  let server: JwksServer;
  let keyA: TestKey;
  let keyB: TestKey;
  // Moved by hand where a test needs time to pass; jose's own JWKS cache keeps real time.
  let clock = Date.now();

  beforeEach(async () => {
    keyA = await createTestKey('ES256', 'a');
    keyB = await createTestKey('ES256', 'b');
    server = await startJwksServer([keyA.publicJwk]);
    clock = Date.now();
  });
  afterEach(async () => {
    await server.close();
  });

  const verifierFor = (extra: Record<string, unknown>, issuer = ISSUER): TokenVerifier =>
    createTokenVerifier({
      issuers: [issuerConfigSchema.parse({ issuer, jwks_cooldown_seconds: 0, ...extra })],
      cacheSize: 100,
      maxTokenBytes: 8192,
      now: () => clock,
    });

  const token = (key: TestKey, issuer = ISSUER) => signToken(key, {}, { now: clock, issuer });

  it(
    'follows key rotation: a new kid triggers a refetch, and a rotated-out key stops verifying, cached ' + 'or not',
    async () => {
      const verifier = verifierFor({ jwks_uri: `${server.url}/jwks.json` });
      const oldToken = await token(keyA);
      await expect(verifier.verify(oldToken, SERVER)).resolves.toMatchObject({ sub: 'alice' });
      expect(server.hits).toBe(1);
      await expect(verifier.verify(oldToken, SERVER)).resolves.toBeDefined(); // cached
      expect(server.hits).toBe(1);

      server.keys = [keyB.publicJwk]; // the IdP rotates: A is gone, B is new
      await expect(verifier.verify(await token(keyB), SERVER)).resolves.toMatchObject({ sub: 'alice' });
      expect(server.hits).toBe(2);
      // The cached verification of A's token is dropped with its key.
      await expect(verifier.verify(oldToken, SERVER)).rejects.toMatchObject({ code: 'key_unknown' });
    },
  );

  it('an unreachable JWKS endpoint is a jwks_unavailable deny', async () => {
    const url = `${server.url}/jwks.json`;
    await server.close();
    const verifier = verifierFor({ jwks_uri: url, jwks_timeout_ms: 500 });
    await expect(verifier.verify(await token(keyA), SERVER)).rejects.toMatchObject({ code: 'jwks_unavailable' });
  });

  it('a slow JWKS endpoint is a jwks_unavailable deny after the configured timeout, not a hang', async () => {
    server.delayMs = 10_000;
    const verifier = verifierFor({ jwks_uri: `${server.url}/jwks.json`, jwks_timeout_ms: 200 });
    const started = performance.now();
    await expect(verifier.verify(await token(keyA), SERVER)).rejects.toMatchObject({ code: 'jwks_unavailable' });
    // Bounded by the timeout, far below the endpoint's 10 s delay.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('OIDC discovery finds the jwks_uri from the issuer', async () => {
    const verifier = verifierFor({ discovery: true }, server.url);
    await expect(verifier.verify(await token(keyA, server.url), SERVER)).resolves.toMatchObject({ iss: server.url });
  });

  it('OIDC discovery refuses a document naming another issuer, and retries later', async () => {
    server.discoveryIssuer = 'https://impostor.example';
    const verifier = verifierFor({ discovery: true }, server.url);
    const t = await token(keyA, server.url);
    await expect(verifier.verify(t, SERVER)).rejects.toMatchObject({ code: 'jwks_unavailable' });
    server.discoveryIssuer = undefined;
    await expect(verifier.verify(t, SERVER)).resolves.toBeDefined();
  });

  it('a failed discovery is not retried on every request: N requests in the cooldown cause 1 fetch', async () => {
    server.failWith = 500;
    const verifier = verifierFor({ discovery: true, jwks_cooldown_seconds: 30 }, server.url);
    const t = await token(keyA, server.url);
    await expect(verifier.verify(t, SERVER)).rejects.toMatchObject({ code: 'jwks_unavailable' });
    const storm = await Promise.allSettled(Array.from({ length: 20 }, () => verifier.verify(t, SERVER)));
    expect(storm.map((r) => r.status === 'rejected' && (r.reason as { code: string }).code)).toEqual(
      Array(20).fill('jwks_unavailable'),
    );
    expect(server.discoveryHits).toBe(1);

    server.failWith = undefined; // the IdP is back, but the cooldown has not passed
    await expect(verifier.verify(t, SERVER)).rejects.toMatchObject({ code: 'jwks_unavailable' });
    expect(server.discoveryHits).toBe(1);
    clock += 30_000;
    await expect(verifier.verify(t, SERVER)).resolves.toMatchObject({ iss: server.url });
    expect(server.discoveryHits).toBe(2);
  });

  it('a failed JWKS fetch is not retried on every request either', async () => {
    server.failWith = 503;
    const verifier = verifierFor({ jwks_uri: `${server.url}/jwks.json`, jwks_cooldown_seconds: 30 });
    const t = await token(keyA);
    for (let i = 0; i < 10; i += 1) {
      await expect(verifier.verify(t, SERVER)).rejects.toMatchObject({ code: 'jwks_unavailable' });
    }
    expect(server.jwksHits).toBe(1);
    server.failWith = undefined;
    clock += 30_000;
    await expect(verifier.verify(t, SERVER)).resolves.toMatchObject({ sub: 'alice' });
    expect(server.jwksHits).toBe(2);
  });

  it('refuses a discovery document whose jwks_uri is plain http beyond loopback, and never fetches it', async () => {
    server.discoveryJwksUri = 'http://keys.example.com/jwks.json';
    const verifier = verifierFor({ discovery: true }, server.url);
    const refusal = verifier.verify(await token(keyA, server.url), SERVER);
    await expect(refusal).rejects.toMatchObject({ code: 'jwks_unavailable', message: expect.stringMatching(/https/) });
    expect(server.jwksHits).toBe(0);
  });
});
