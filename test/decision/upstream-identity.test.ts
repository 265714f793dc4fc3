import { existsSync, mkdtempSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.ts';
import {
  loadUpstreamIdentitySigner,
  UPSTREAM_IDENTITY_TYP,
  upstreamIdentityJwks,
  type UpstreamIdentitySigner,
} from '../../src/decision/upstream-identity.ts';
import type { DecideRequest } from '../../src/decision/types.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { ISSUER, SERVER } from '../helpers/tokens.ts';

const UPSTREAM = 'http://files-upstream.internal/mcp';
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);
const read = { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } };
const keyFile = () => join(mkdtempSync(join(tmpdir(), 'warden-upstream-id-')), 'keys', 'upstream.jwk');

describe('identity assertions for the upstream (decide)', () => {
  let signer: UpstreamIdentitySigner;
  let t: TestCore;
  beforeAll(async () => {
    signer = (await loadUpstreamIdentitySigner({
      key_file: keyFile(),
      issuer: 'mcp-warden',
      ttl_seconds: 60,
      audiences: { [SERVER]: UPSTREAM },
    }))!;
    t = await createTestCore({ upstreamIdentity: signer });
  });
  const ask = (request: Partial<DecideRequest>) =>
    decide(t.deps, { server: SERVER, mcp: read, upstream_identity: true, ...request } as DecideRequest, PEP);

  it('an allow carries a JWT of the principal for the upstream, verifiable with the published keys', async () => {
    const token = await t.idp.mint({ client_id: 'alice-app' }, { subject: 'alice', expiresIn: 3600 });
    const decision = await ask({ token });
    expect(decision.allow).toBe(true);
    const { payload, protectedHeader } = await jwtVerify(
      decision.upstream_identity!,
      createLocalJWKSet(upstreamIdentityJwks(signer) as never),
      { issuer: 'mcp-warden', audience: UPSTREAM, typ: UPSTREAM_IDENTITY_TYP, currentDate: new Date(t.clock.now) },
    );
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: UPSTREAM_IDENTITY_TYP, kid: signer.key.kid });
    expect(payload).toMatchObject({
      sub: 'alice',
      client_id: 'alice-app',
      jti: decision.decision_id,
      mcp_warden: { token_iss: ISSUER, kind: 'user', server: SERVER },
    });
    expect(payload.exp! - payload.iat!).toBe(60);
    // The decision record names the audience; the assertion itself is never recorded.
    const record = t.audit.saved.at(-1)!;
    expect(record.detail?.upstream_identity).toBe(UPSTREAM);
    expect(JSON.stringify(t.audit.saved)).not.toContain(decision.upstream_identity!);
    // The client's token is nowhere in it.
    expect(decision.upstream_identity).not.toContain(token.split('.')[1]);
  });

  it('never outlives the client token', async () => {
    const token = await t.idp.mint({}, { subject: 'alice', expiresIn: 20 });
    const { upstream_identity: jwt } = await ask({ token });
    const claims = decodeJwt(jwt!);
    expect(claims.exp).toBe(decodeJwt(token).exp);
    expect(claims.exp! - claims.iat!).toBe(20);
  });

  it('a deny carries none; a request that does not ask gets none', async () => {
    const token = await t.idp.mint({}, { subject: 'alice' });
    const denied = await ask({ token, mcp: { method: 'tools/call', params: { name: 'fs_delete', arguments: {} } } });
    expect(denied.allow).toBe(false);
    expect(denied.upstream_identity).toBeUndefined();
    const unasked = await ask({ token, upstream_identity: false });
    expect(unasked.allow).toBe(true);
    expect(unasked.upstream_identity).toBeUndefined();
    const noToken = await ask({});
    expect(noToken).toMatchObject({ allow: false });
    expect(noToken.upstream_identity).toBeUndefined();
  });

  it('fails closed for a server it signs nothing for, and when nothing is configured', async () => {
    const other = 'https://mcp.example.com/other';
    const token = await t.idp.mint({}, { subject: 'alice', audience: other });
    const unknownServer = await ask({ token, server: other });
    expect(unknownServer.allow).toBe(false);
    expect(codes(unknownServer)).toEqual(['upstream_identity_unavailable']);
    const bare = await createTestCore();
    const alice = await bare.idp.mint({}, { subject: 'alice' });
    const none = await decide(bare.deps, { token: alice, server: SERVER, mcp: read, upstream_identity: true }, PEP);
    expect(codes(none)).toEqual(['upstream_identity_unavailable']);
    expect(bare.audit.saved.at(-1)).toMatchObject({ kind: 'decision', allow: false });
  });
});

describe('the upstream identity key file', () => {
  it('is created once, mode 0600, and read back on the next start', async () => {
    const file = keyFile();
    const config = { key_file: file, issuer: 'w', ttl_seconds: 60, audiences: {} };
    const first = (await loadUpstreamIdentitySigner(config))!;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = (await loadUpstreamIdentitySigner(config))!;
    expect(second.key.kid).toBe(first.key.kid);
    expect(upstreamIdentityJwks(second).keys[0]).not.toHaveProperty('d');
  });

  it('never writes through a symlink planted at its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-upstream-id-'));
    const link = join(dir, 'upstream.jwk');
    // A dangling link: following it would create the key wherever the link points.
    symlinkSync(join(dir, 'elsewhere.jwk'), link);
    await expect(
      loadUpstreamIdentitySigner({ key_file: link, issuer: 'w', ttl_seconds: 60, audiences: {} }),
    ).rejects.toThrow();
    expect(existsSync(join(dir, 'elsewhere.jwk'))).toBe(false);
  });

  it('is absent when not configured: no keys published', async () => {
    expect(await loadUpstreamIdentitySigner(undefined)).toBeUndefined();
    expect(upstreamIdentityJwks(undefined)).toEqual({ keys: [] });
  });
});
