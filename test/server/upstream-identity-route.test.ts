import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPSTREAM_IDENTITY_JWKS_PATH, UPSTREAM_IDENTITY_TYP } from '../../src/decision/upstream-identity.ts';
import { decideRequest } from '../../src/pep/enforce.ts';
import { createWardenClient } from '../../src/pep/http-warden.ts';
import { IMPLEMENTED_OBLIGATIONS } from '../../src/pep/obligations.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const SERVER = 'https://mcp.example.com/files';
const UPSTREAM = 'http://files.internal:3000/mcp';
const KEY_FILE = join(mkdtempSync(join(tmpdir(), 'warden-upstream-id-')), 'keys', 'upstream.jwk');
const read = { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } };

describe('identity assertions through the decision API', () => {
  let s: TestService;
  let url: string;
  beforeAll(async () => {
    s = await startTestService(
      {},
      { identity: { upstream_assertion: { key_file: KEY_FILE, audiences: { [SERVER]: UPSTREAM } } } },
    );
    await s.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await s?.app.close();
  });

  it('POST /v1/decide signs one on request; GET the JWKS (no API key) verifies it', async () => {
    const token = await s.token({ sub: 'alice' });
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      payload: { token, server: SERVER, mcp: read, upstream_identity: true },
    });
    expect(res.statusCode).toBe(200);
    const decision = res.json();
    expect(decision.allow).toBe(true);
    const { payload } = await jwtVerify(
      decision.upstream_identity,
      createRemoteJWKSet(new URL(UPSTREAM_IDENTITY_JWKS_PATH, url)),
      { issuer: 'mcp-warden', audience: UPSTREAM, typ: UPSTREAM_IDENTITY_TYP },
    );
    expect(payload).toMatchObject({ sub: 'alice', jti: decision.decision_id });
    const jwks = await s.app.inject({ method: 'GET', url: UPSTREAM_IDENTITY_JWKS_PATH });
    expect(jwks.headers['cache-control']).toContain('max-age');
    expect(jwks.json().keys).toHaveLength(1);
    expect(jwks.json().keys[0]).not.toHaveProperty('d');
  });

  it('creates the key file on first start, readable by the service only', () => {
    expect(statSync(KEY_FILE).mode & 0o777).toBe(0o600);
  });

  it('a wrongly typed upstream_identity is a 400 naming the field', async () => {
    const token = await s.token({ sub: 'alice' });
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      payload: { token, server: SERVER, mcp: read, upstream_identity: 'yes' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('upstream_identity');
  });

  it('a remote PEP gets it over HTTP; without it an allow is refused by the enforcement core', async () => {
    const token = await s.token({ sub: 'alice' });
    const warden = createWardenClient({ url, obligations: IMPLEMENTED_OBLIGATIONS.proxy });
    const pep = {
      warden,
      server: SERVER,
      token,
      session: undefined,
      protocolVersion: undefined,
      widenOnDemand: false,
      obligations: new Set(IMPLEMENTED_OBLIGATIONS.proxy),
      upstreamIdentity: true,
    };
    const allowed = await decideRequest(pep, read);
    expect(allowed.allow).toBe(true);
    expect(allowed.upstream_identity).toMatch(/^ey/);
    // A service that signs nothing for the server: the allow does not go upstream without it.
    const other = await decideRequest({ ...pep, server: 'https://mcp.example.com/other' }, read);
    expect(other.allow).toBe(false);
    // A warden whose decisions carry none (a stand-in for an older service): refused too.
    const bare = await decideRequest(
      {
        ...pep,
        warden: { ...warden, decide: async (r) => ({ ...(await warden.decide(r)), upstream_identity: undefined }) },
      },
      read,
    );
    expect(bare).toMatchObject({ allow: false, reasons: [{ code: 'upstream_identity_unavailable' }] });
    await warden.close();
  });
});
