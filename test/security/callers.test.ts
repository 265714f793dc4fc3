import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.ts';

const SERVER = 'https://mcp.example.com/files';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const PEP_KEY = 'mwk_pep-key-for-tests-0123456789abcdef';
const ADMIN_KEY = 'mwk_admin-key-for-tests-0123456789abcdef';
const REVOKED_KEY = 'mwk_revoked-key-for-tests-0123456789abcdef';

describe('caller authentication with API keys', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({}, {
      callers: {
        api_keys: [
          { id: 'gateway-1', sha256: sha(PEP_KEY), role: 'pep' },
          { id: 'ops', sha256: sha(ADMIN_KEY), role: 'admin' },
          { id: 'old-gateway', sha256: sha(REVOKED_KEY), role: 'pep', disabled: true },
        ],
      },
    });
  });
  afterAll(async () => {
    await s.app.close();
  });

  const decide = async (headers: Record<string, string>) =>
    s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers,
      payload: { token: await s.token(), server: SERVER, mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } } },
    });

  it('a valid pep key decides, and the decision names the caller', async () => {
    const res = await decide({ authorization: `Bearer ${PEP_KEY}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().allow).toBe(true);
  });

  for (const [name, headers, code] of [
    ['missing key', {}, 'caller_unauthenticated'],
    ['malformed header', { authorization: 'Basic abc' }, 'caller_unauthenticated'],
    ['wrong key', { authorization: 'Bearer mwk_not-a-key-we-know-0000000000' }, 'caller_unauthenticated'],
    ['revoked key', { authorization: `Bearer ${REVOKED_KEY}` }, 'caller_unauthenticated'],
  ] as const) {
    it(`${name} → 401 ${code}`, async () => {
      const res = await decide(headers as Record<string, string>);
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe(code);
    });
  }

  it('a pep key cannot use admin routes; an admin key can', async () => {
    const created = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: { authorization: `Bearer ${PEP_KEY}` },
      payload: { token: await s.token(), server: SERVER },
    });
    expect(created.statusCode).toBe(201);
    const { id, id_hash } = created.json();
    const asPep = await s.app.inject({ method: 'GET', url: `/v1/sessions/${id}`, headers: { authorization: `Bearer ${PEP_KEY}` } });
    expect(asPep.statusCode).toBe(403);
    expect(asPep.json().code).toBe('caller_forbidden');
    const asAdmin = await s.app.inject({ method: 'GET', url: `/v1/sessions/${id_hash}`, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(asAdmin.statusCode).toBe(200);
    expect(asAdmin.json()).toMatchObject({ id_hash, owner: { sub: 'alice' } });
    expect(asAdmin.json()).not.toHaveProperty('id');
  });

  it('an admin key cannot decide (it is not a PEP)', async () => {
    const res = await decide({ authorization: `Bearer ${ADMIN_KEY}` });
    expect(res.statusCode).toBe(403);
  });

  it('the audit records name the caller', async () => {
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(s.auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.kind === 'decision' && l.caller === 'gateway-1')).toBe(true);
    expect(lines.some((l) => l.kind === 'session.created' && l.caller === 'gateway-1')).toBe(true);
  });
});

describe('another PEP cannot revoke a session it did not create', () => {
  it('403 session_forbidden for the other PEP, 200 for an admin', async () => {
    const other = 'mwk_other-gateway-key-0123456789abcdef';
    const s = await startTestService({}, {
      callers: {
        api_keys: [
          { id: 'gateway-1', sha256: sha(PEP_KEY), role: 'pep' },
          { id: 'gateway-2', sha256: sha(other), role: 'pep' },
          { id: 'ops', sha256: sha(ADMIN_KEY), role: 'admin' },
        ],
      },
    });
    const created = await s.app.inject({
      method: 'POST', url: '/v1/sessions', headers: { authorization: `Bearer ${PEP_KEY}` }, payload: { token: await s.token(), server: SERVER },
    });
    const url = `/v1/sessions/${created.json().id}`;
    const byOther = await s.app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${other}` } });
    expect(byOther.statusCode).toBe(403);
    expect(byOther.json().code).toBe('session_forbidden');
    const byAdmin = await s.app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(byAdmin.statusCode).toBe(200);
    await s.app.close();
  });
});
