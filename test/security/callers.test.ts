import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callersConfigSchema } from '../../src/config/callers.ts';
import { createCallerAuth } from '../../src/server/caller.ts';
import { buildTestApp } from '../helpers/app.ts';
import { createTestCore } from '../helpers/core.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { SERVER as TEST_SERVER } from '../helpers/tokens.ts';

const SERVER = 'https://mcp.example.com/files';
const OTHER = 'https://mcp.example.com/billing';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const PEP_KEY = 'mwk_pep-key-for-tests-0123456789abcdef';
const ADMIN_KEY = 'mwk_admin-key-for-tests-0123456789abcdef';
const REVOKED_KEY = 'mwk_revoked-key-for-tests-0123456789abcdef';
const OTHER_KEY = 'mwk_other-gateway-key-0123456789abcdef';
const READ = { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } };

/** The audit records written so far. */
const auditLines = (s: TestService): Record<string, unknown>[] =>
  readFileSync(s.auditFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('caller authentication with API keys', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService(
      {},
      {
        callers: {
          api_keys: [
            { id: 'gateway-1', sha256: sha(PEP_KEY), role: 'pep' },
            { id: 'ops', sha256: sha(ADMIN_KEY), role: 'admin' },
            { id: 'old-gateway', sha256: sha(REVOKED_KEY), role: 'pep', disabled: true },
          ],
        },
      },
    );
  });
  afterAll(async () => {
    await s.app.close();
  });

  const decide = async (headers: Record<string, string>) =>
    s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers,
      payload: { token: await s.token(), server: SERVER, mcp: READ },
    });

  it('a valid pep key decides, and the decision names the caller', async () => {
    const res = await decide(bearer(PEP_KEY));
    expect(res.statusCode).toBe(200);
    const { allow, decision_id } = res.json();
    expect(allow).toBe(true);
    const record = auditLines(s).find((l) => l.kind === 'decision' && l.decision_id === decision_id);
    expect(record?.caller).toBe('gateway-1');
  });

  // Each refusal says which of the ways a key can be wrong it was, not just "a key is required".
  for (const [name, headers, message] of [
    ['missing key', {}, /^an API key is required/],
    ['another scheme', { authorization: 'Basic abc' }, /not "Bearer <key>"/],
    ['a key too short to be one', { authorization: 'Bearer short' }, /^the API key is malformed/],
    ['wrong key', { authorization: 'Bearer mwk_not-a-key-we-know-0000000000' }, /^the API key is not valid/],
    ['revoked key', bearer(REVOKED_KEY), /^the API key was revoked/],
  ] as const) {
    it(`${name} → 401 caller_unauthenticated, saying so`, async () => {
      const res = await decide(headers as Record<string, string>);
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('caller_unauthenticated');
      expect(res.json().message).toMatch(message);
    });
  }

  it('a pep key cannot use admin routes; an admin key can', async () => {
    const created = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: bearer(PEP_KEY),
      payload: { token: await s.token(), server: SERVER },
    });
    expect(created.statusCode).toBe(201);
    const { id, id_hash } = created.json();
    const asPep = await s.app.inject({ method: 'GET', url: `/v1/sessions/${id}`, headers: bearer(PEP_KEY) });
    expect(asPep.statusCode).toBe(403);
    expect(asPep.json().code).toBe('caller_forbidden');
    const asAdmin = await s.app.inject({ method: 'GET', url: `/v1/sessions/${id_hash}`, headers: bearer(ADMIN_KEY) });
    expect(asAdmin.statusCode).toBe(200);
    expect(asAdmin.json()).toMatchObject({ id_hash, owner: { sub: 'alice' } });
    expect(asAdmin.json()).not.toHaveProperty('id');
  });

  it('an admin key cannot decide (it is not a PEP)', async () => {
    const res = await decide(bearer(ADMIN_KEY));
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('caller_forbidden');
    expect(auditLines(s).some((l) => l.kind === 'decision' && l.caller === 'ops')).toBe(false);
  });

  it('the record of a session created names the caller', async () => {
    const created = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: bearer(PEP_KEY),
      payload: { token: await s.token(), server: SERVER },
    });
    expect(created.statusCode).toBe(201);
    const record = auditLines(s).find((l) => l.kind === 'session.created' && l.session === created.json().id_hash);
    expect(record?.caller).toBe('gateway-1');
  });
});

describe('another PEP cannot revoke a session it did not create', () => {
  it('403 session_forbidden for the other PEP, and the session still decides; 200 for an admin', async () => {
    const s = await startTestService(
      {},
      {
        callers: {
          api_keys: [
            { id: 'gateway-1', sha256: sha(PEP_KEY), role: 'pep' },
            { id: 'gateway-2', sha256: sha(OTHER_KEY), role: 'pep' },
            { id: 'ops', sha256: sha(ADMIN_KEY), role: 'admin' },
          ],
        },
      },
    );
    const token = await s.token();
    const created = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: bearer(PEP_KEY),
      payload: { token, server: SERVER },
    });
    const { id } = created.json();
    const url = `/v1/sessions/${id}`;
    const byOther = await s.app.inject({ method: 'DELETE', url, headers: bearer(OTHER_KEY) });
    expect(byOther.statusCode).toBe(403);
    expect(byOther.json().code).toBe('session_forbidden');
    const read = await s.app.inject({ method: 'GET', url, headers: bearer(ADMIN_KEY) });
    expect(read.json().revoked_at).toBeNull();
    const decided = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: bearer(PEP_KEY),
      payload: { token, session: id, server: SERVER, mcp: READ },
    });
    expect(decided.json()).toMatchObject({ allow: true, reasons: [] });
    const byAdmin = await s.app.inject({ method: 'DELETE', url, headers: bearer(ADMIN_KEY) });
    expect(byAdmin.statusCode).toBe(200);
    expect(byAdmin.json().revoked_at).not.toBeNull();
    await s.app.close();
  });
});

describe('a pep key bound to servers acts for those servers only', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService(
      {},
      {
        callers: {
          api_keys: [
            { id: 'files-gw', sha256: sha(PEP_KEY), role: 'pep', servers: [SERVER] },
            { id: 'any-gw', sha256: sha(OTHER_KEY), role: 'pep' },
            { id: 'ops', sha256: sha(ADMIN_KEY), role: 'admin' },
          ],
        },
      },
    );
  });
  afterAll(async () => {
    await s.app.close();
  });

  const expectForbidden = (res: { statusCode: number; json: () => { code: string; message: string } }) => {
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('caller_forbidden');
    expect(res.json().message).toContain(OTHER);
  };

  it('decides, creates, widens, checks and deletes for its own server', async () => {
    const token = await s.token();
    const decided = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: bearer(PEP_KEY),
      payload: { token, server: SERVER, mcp: READ },
    });
    expect(decided.json().allow).toBe(true);
    const created = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: bearer(PEP_KEY),
      payload: { token, server: SERVER },
    });
    expect(created.statusCode).toBe(201);
    const { id } = created.json();
    const live = await s.app.inject({
      method: 'POST',
      url: '/v1/liveness',
      headers: bearer(PEP_KEY),
      payload: { items: [{ token, session: id, server: SERVER }] },
    });
    expect(live.json()).toEqual({ results: [{ live: true }] });
    const widened = await s.app.inject({
      method: 'POST',
      url: `/v1/sessions/${id}/scope`,
      headers: bearer(PEP_KEY),
      payload: { token, add: ['fs_read'] },
    });
    expect(widened.statusCode).toBe(200);
    const deleted = await s.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, headers: bearer(PEP_KEY) });
    expect(deleted.statusCode).toBe(200);
  });

  it('refuses a decision for another server, and writes no decision for it', async () => {
    const token = await s.token({ server: OTHER });
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: bearer(PEP_KEY),
      payload: { token, server: OTHER, mcp: READ },
    });
    expectForbidden(res);
    expect(auditLines(s).some((l) => l.kind === 'decision' && l.server === OTHER)).toBe(false);
  });

  it('refuses to create a session for another server, and none is created', async () => {
    const token = await s.token({ server: OTHER, sub: 'olga' });
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: bearer(PEP_KEY),
      payload: { token, server: OTHER },
    });
    expectForbidden(res);
    const listed = await s.app.inject({ method: 'GET', url: '/v1/sessions?subject=olga', headers: bearer(ADMIN_KEY) });
    expect(listed.json().sessions).toEqual([]);
  });

  it('refuses a liveness batch with an item for another server', async () => {
    const token = await s.token();
    const other = await s.token({ server: OTHER });
    const items = [
      { token, server: SERVER },
      { token: other, server: OTHER },
    ];
    expectForbidden(
      await s.app.inject({ method: 'POST', url: '/v1/liveness', headers: bearer(PEP_KEY), payload: { items } }),
    );
  });

  it('refuses to widen or delete a session of another server, which stays alive', async () => {
    const token = await s.token({ server: OTHER });
    const created = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: bearer(OTHER_KEY),
      payload: { token, server: OTHER },
    });
    expect(created.statusCode).toBe(201);
    const { id } = created.json();
    const widen = await s.app.inject({
      method: 'POST',
      url: `/v1/sessions/${id}/scope`,
      headers: bearer(PEP_KEY),
      payload: { token, add: ['fs_write'] },
    });
    expectForbidden(widen);
    expectForbidden(await s.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, headers: bearer(PEP_KEY) }));
    const read = await s.app.inject({ method: 'GET', url: `/v1/sessions/${id}`, headers: bearer(ADMIN_KEY) });
    expect(read.json()).toMatchObject({ revoked_at: null, scope: created.json().scope });
  });

  it('binds pep keys only, to at least one server', () => {
    const key = { id: 'k', sha256: sha(PEP_KEY) };
    for (const [entry, message] of [
      [{ ...key, role: 'admin', servers: [SERVER] }, /only a pep key/],
      [{ ...key, role: 'metrics', servers: [SERVER] }, /only a pep key/],
      [{ ...key, role: 'pep', servers: [] }, /at least one server/],
    ] as const) {
      const result = callersConfigSchema.safeParse({ api_keys: [entry] });
      expect(result.success, entry.role).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(['api_keys', 0, 'servers']);
      expect(result.error?.issues[0]?.message).toMatch(message);
    }
  });
});

describe('the keyless local caller', () => {
  const adminRoutes = [
    { method: 'POST', url: '/v1/sessions/revoke', payload: { subject: 'alice' } },
    { method: 'POST', url: '/v1/revocations', payload: { subject: 'alice' } },
    { method: 'GET', url: '/v1/revocations' },
    { method: 'POST', url: '/v1/admin/reload' },
    { method: 'GET', url: '/v1/audit' },
    { method: 'GET', url: '/v1/sessions?subject=alice' },
  ] as const;

  it('decides and manages its sessions, but outside dev mode may not use any admin route', async () => {
    const t = await createTestCore();
    const { app } = await buildTestApp(t.deps);
    const token = await t.idp.mint({ sub: 'alice' });
    const created = await app.inject({ method: 'POST', url: '/v1/sessions', payload: { token, server: TEST_SERVER } });
    expect(created.statusCode).toBe(201);
    const { id, id_hash } = created.json();
    const before = t.audit.saved.length;
    for (const route of [...adminRoutes, { method: 'GET', url: `/v1/sessions/${id_hash}` } as const]) {
      const res = await app.inject(route);
      expect(res.statusCode, route.url).toBe(403);
      expect(res.json().code, route.url).toBe('caller_forbidden');
    }
    // Nothing was revoked: the session still decides, and no record was written meanwhile.
    expect(t.audit.saved.length).toBe(before);
    const mcp = { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } };
    const decided = await app.inject({
      method: 'POST',
      url: '/v1/decide',
      payload: { token, session: id, server: TEST_SERVER, mcp },
    });
    expect(decided.json()).toMatchObject({ allow: true });
    const deleted = await app.inject({ method: 'DELETE', url: `/v1/sessions/${id}` });
    expect(deleted.json().revoked_at).not.toBeNull();
    await app.close();
  });

  it('in dev mode keeps the admin routes, for the quickstart', async () => {
    const t = await createTestCore();
    const { app } = await buildTestApp(t.deps, { auth: createCallerAuth([], { localAdmin: true }) });
    const token = await t.idp.mint({ sub: 'alice' });
    const created = await app.inject({ method: 'POST', url: '/v1/sessions', payload: { token, server: TEST_SERVER } });
    const res = await app.inject(adminRoutes[0]);
    expect(res.statusCode).toBe(200);
    expect(res.json().sessions.map((v: { id_hash: string }) => v.id_hash)).toEqual([created.json().id_hash]);
    await app.close();
  });
});
