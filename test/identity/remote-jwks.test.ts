import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issuerConfigSchema } from '../../src/config/identity.ts';
import { createTokenVerifier, type TokenVerifier } from '../../src/identity/verifier.ts';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.ts';
import { createTestKey, ISSUER, SERVER, signToken, type TestKey } from '../helpers/tokens.ts';

describe('remote JWKS against a real HTTP server on loopback', () => {
  let server: JwksServer;
  let keyA: TestKey;
  let keyB: TestKey;

  beforeEach(async () => {
    keyA = await createTestKey('ES256', 'a');
    keyB = await createTestKey('ES256', 'b');
    server = await startJwksServer([keyA.publicJwk]);
  });
  afterEach(async () => {
    await server.close();
  });

  const verifierFor = (extra: Record<string, unknown>, issuer = ISSUER): TokenVerifier =>
    createTokenVerifier({
      issuers: [issuerConfigSchema.parse({ issuer, jwks_cooldown_seconds: 0, ...extra })],
      cacheSize: 100,
      maxTokenBytes: 8192,
    });

  const token = (key: TestKey, issuer = ISSUER) => signToken(key, {}, { now: Date.now(), issuer });

  it('follows key rotation: a new kid triggers a refetch, and a rotated-out key stops verifying, cached or not', async () => {
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
  });

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
});
