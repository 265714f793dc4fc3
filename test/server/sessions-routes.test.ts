import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.ts';

const SERVER = 'https://mcp.example.com/files';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const PEP = { authorization: 'Bearer mwk_route-tests-pep-0123456789abcdef' };
const ADMIN = { authorization: 'Bearer mwk_route-tests-admin-0123456789abcdef' };

describe('session routes: widen, list, bulk revoke', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService(
      {},
      {
        callers: {
          api_keys: [
            { id: 'gw', sha256: sha(PEP.authorization.slice(7)), role: 'pep' },
            { id: 'ops', sha256: sha(ADMIN.authorization.slice(7)), role: 'admin' },
          ],
        },
      },
    );
  });
  afterAll(async () => {
    await s.app.close();
  });

  const create = async (sub: string, body: Record<string, unknown> = {}) => {
    const token = await s.token({ sub, roles: ['writer'] });
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: PEP,
      payload: { token, server: SERVER, tools: ['fs_read'], ...body },
    });
    expect(res.statusCode).toBe(201);
    return { token, id: res.json().id as string };
  };

  /** A tools/call of `tool` in session `id`, decided; the answer's body. */
  const decide = async (token: string, id: string, tool: string) =>
    (
      await s.app.inject({
        method: 'POST',
        url: '/v1/decide',
        headers: PEP,
        payload: {
          token,
          server: SERVER,
          session: id,
          mcp: { method: 'tools/call', params: { name: tool, arguments: { path: '/srv/data/a' } } },
        },
      })
    ).json();

  it('POST /v1/sessions/{id}/scope widens after re-authorization; 403 with reasons when refused', async () => {
    const { token, id } = await create('carol');
    const ok = await s.app.inject({
      method: 'POST',
      url: `/v1/sessions/${id}/scope`,
      headers: PEP,
      payload: { token, add: ['fs_write'] },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().scope).toEqual(['fs_read', 'fs_write']);
    // A writer's role lists every catalogue tool (fs_delete too: its calls wait for an
    // approval), so the refused tool is one the catalogue does not know. Nothing of a
    // refused widening is added.
    const refused = await s.app.inject({
      method: 'POST',
      url: `/v1/sessions/${id}/scope`,
      headers: PEP,
      payload: { token, add: ['fs_delete', 'debug_eval'] },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({
      code: 'session_not_granted',
      reasons: [{ code: 'tool_unknown' }],
    });
    const empty = await s.app.inject({
      method: 'POST',
      url: `/v1/sessions/${id}/scope`,
      headers: PEP,
      payload: { token, add: [] },
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().errors[0].path).toBe('add');
  });

  it('a widening of a revoked session answers 410', async () => {
    const { token, id } = await create('dave');
    await s.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, headers: PEP });
    const res = await s.app.inject({
      method: 'POST',
      url: `/v1/sessions/${id}/scope`,
      headers: PEP,
      payload: { token, add: ['fs_write'] },
    });
    expect(res.statusCode).toBe(410);
    expect(res.json().code).toBe('session_revoked');
  });

  it('GET /v1/sessions lists by subject (admin only)', async () => {
    await create('erin');
    await create('erin');
    const asPep = await s.app.inject({ method: 'GET', url: '/v1/sessions?subject=erin', headers: PEP });
    expect(asPep.statusCode).toBe(403);
    const res = await s.app.inject({ method: 'GET', url: '/v1/sessions?subject=erin', headers: ADMIN });
    expect(res.statusCode).toBe(200);
    expect(res.json().sessions).toHaveLength(2);
    for (const view of res.json().sessions) expect(view).not.toHaveProperty('id');
  });

  it('POST /v1/sessions/revoke revokes every live session of a subject, and only those', async () => {
    const frank1 = await create('frank');
    const frank2 = await create('frank');
    const grace = await create('grace');
    const noFilter = await s.app.inject({ method: 'POST', url: '/v1/sessions/revoke', headers: ADMIN, payload: {} });
    expect(noFilter.statusCode).toBe(400);
    const asPep = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions/revoke',
      headers: PEP,
      payload: { subject: 'frank' },
    });
    expect(asPep.statusCode).toBe(403);
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions/revoke',
      headers: ADMIN,
      payload: { subject: 'frank' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().revoked).toBe(2);
    const decideWith = ({ token, id }: { token: string; id: string }) => decide(token, id, 'fs_read');
    // The bulk revoke also revoked the subject, which the engine checks before the session.
    expect(res.json().rule).toMatchObject({ selector: 'subject', subject: 'frank', issuer: null });
    expect((await decideWith(frank1)).reasons[0].code).toBe('principal_revoked');
    expect((await decideWith(frank2)).reasons[0].code).toBe('principal_revoked');
    expect((await decideWith(grace)).allow).toBe(true);
  });

  it('GET /v1/audit finds the records of a session by its id (admin only), paginated', async () => {
    const { token, id } = await create('heidi');
    await s.app.inject({
      method: 'POST',
      url: `/v1/sessions/${id}/scope`,
      headers: PEP,
      payload: { token, add: ['fs_write'] },
    });
    const asPep = await s.app.inject({ method: 'GET', url: `/v1/audit?session=${id}`, headers: PEP });
    expect(asPep.statusCode).toBe(403);
    const first = await s.app.inject({ method: 'GET', url: `/v1/audit?session=${id}&limit=1`, headers: ADMIN });
    expect(first.statusCode).toBe(200);
    expect(first.json().records.map((r: { kind: string }) => r.kind)).toEqual(['session.created']);
    const rest = await s.app.inject({
      method: 'GET',
      url: `/v1/audit?session=${id}&cursor=${first.json().next}`,
      headers: ADMIN,
    });
    expect(rest.json().records.map((r: { kind: string }) => r.kind)).toEqual(['session.widened']);
    const bad = await s.app.inject({ method: 'GET', url: '/v1/audit?since=yesterday', headers: ADMIN });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('since');
  });

  it('GET /v1/audit/access answers who could call a tool and who did (admin only), as JSON or CSV', async () => {
    const { id } = await create('ivan', { tools: ['fs_read', 'fs_write'] });
    const token = await s.token({ sub: 'ivan', roles: ['writer'] });
    expect((await decide(token, id, 'fs_write')).allow).toBe(true);
    const url = `/v1/audit/access?server=${encodeURIComponent(SERVER)}&tool=fs_write`;
    expect((await s.app.inject({ method: 'GET', url, headers: PEP })).statusCode).toBe(403);
    const res = await s.app.inject({ method: 'GET', url, headers: ADMIN });
    expect(res.statusCode).toBe(200);
    const ivan = res.json().rows.find((r: { principal: { sub: string } }) => r.principal.sub === 'ivan');
    expect(ivan).toMatchObject({ could: true, did: 1, denied: 0 });
    expect(ivan.sessions).toHaveLength(1);
    const csv = await s.app.inject({ method: 'GET', url: `${url}&format=csv`, headers: ADMIN });
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body.split('\n')[0]).toBe('iss,sub,client_id,actor,could,did,denied,first_at,last_at,sessions');
    expect(csv.body).toContain(',ivan,');
    // Another tool, a window before the calls: nobody.
    const other = await s.app.inject({ method: 'GET', url: `${url}&until=2020-01-01T00:00:00Z`, headers: ADMIN });
    expect(other.json().rows).toEqual([]);
    for (const [query, field] of [
      [`server=${encodeURIComponent(SERVER)}`, 'tool'],
      [`server=${encodeURIComponent(SERVER)}&tool=x&since=yesterday`, 'since'],
      [`server=${encodeURIComponent(SERVER)}&tool=x&format=xml`, 'format'],
      [`server=${encodeURIComponent(SERVER)}&tool=x&since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z`, 'since'],
    ]) {
      const bad = await s.app.inject({ method: 'GET', url: `/v1/audit/access?${query}`, headers: ADMIN });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().errors[0].path).toBe(field);
    }
  });

  it('GET /v1/status shows the active revision; POST /v1/admin/reload is for admins', async () => {
    const status = await s.app.inject({ method: 'GET', url: '/v1/status', headers: PEP });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({
      status: 'OK',
      revision: expect.stringMatching(/^\d{8}T\d{6}Z-[0-9a-f]{12}$/),
      last_error: null,
    });
    expect((await s.app.inject({ method: 'POST', url: '/v1/admin/reload', headers: PEP })).statusCode).toBe(403);
    const reloaded = await s.app.inject({ method: 'POST', url: '/v1/admin/reload', headers: ADMIN });
    expect(reloaded.statusCode).toBe(200);
    expect(reloaded.json().revision).toBe(status.json().revision);
  });
});
