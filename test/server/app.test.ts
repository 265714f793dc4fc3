import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { POLICIES } from '../helpers/paths.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { repackBundle } from '../policy/repack.ts';

const SERVER = 'https://mcp.example.com/files';

describe('HTTP API', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await startTestService();
  });
  afterEach(async () => {
    await s.app.close();
  });

  const decideBody = (token: string, extra: Record<string, unknown> = {}) => ({
    token,
    server: SERVER,
    mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
    ...extra,
  });

  it('POST /v1/decide answers allow and deny as 200', async () => {
    const token = await s.token();
    const allow = await s.app.inject({ method: 'POST', url: '/v1/decide', payload: decideBody(token) });
    expect(allow.statusCode).toBe(200);
    expect(allow.json()).toMatchObject({ allow: true, reasons: [] });
    const deny = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      payload: decideBody(token, {
        mcp: { method: 'tools/call', params: { name: 'fs_delete', arguments: { path: '/srv/data/a' } } },
      }),
    });
    expect(deny.statusCode).toBe(200);
    expect(deny.json().allow).toBe(false);
    expect(deny.json().reasons.map((r: { code: string }) => r.code)).toContain('destructive_requires_role');
  });

  it("records the client's self-description in the decision record", async () => {
    const client = { name: 'app', version: '3.1', capabilities: ['elicitation'] };
    const body = decideBody(await s.token());
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      payload: { ...body, mcp: { ...body.mcp, client } },
    });
    expect(res.statusCode).toBe(200);
    // Dev mode: the local caller may query the trail.
    const query = await s.app.inject({ method: 'GET', url: `/v1/audit?kind=decision&limit=10` });
    const records: { decision_id: string; input?: { client?: unknown } }[] = query.json().records;
    expect(records.find((r) => r.decision_id === res.json().decision_id)?.input?.client).toEqual(client);
  });

  describe('400 names the wrong field', () => {
    const cases: [string, unknown, string[]][] = [
      ['missing mcp.method', { server: SERVER, mcp: {} }, ['mcp.method']],
      ['wrong type of server', { server: 42, mcp: { method: 'ping' } }, ['server']],
      ['unknown top-level field', { server: SERVER, mcp: { method: 'ping' }, admin: true }, ['admin']],
      ['unknown nested field', { server: SERVER, mcp: { method: 'ping', sneaky: 1 } }, ['mcp.sneaky']],
      [
        'arguments not an object',
        { server: SERVER, mcp: { method: 'tools/call', params: { arguments: 'rm -rf' } } },
        ['mcp.params.arguments'],
      ],
      [
        'a client name over 256 characters',
        { server: SERVER, mcp: { method: 'ping', client: { name: 'n'.repeat(257) } } },
        ['mcp.client.name'],
      ],
      [
        'an unknown field in the client',
        { server: SERVER, mcp: { method: 'ping', client: { name: 'a', admin: true } } },
        ['mcp.client.admin'],
      ],
      [
        'context over 2 KiB',
        { server: SERVER, mcp: { method: 'ping' }, context: { blob: 'x'.repeat(2100) } },
        ['context'],
      ],
    ];
    for (const [name, payload, paths] of cases) {
      it(name, async () => {
        const res = await s.app.inject({ method: 'POST', url: '/v1/decide', payload: payload as object });
        expect(res.statusCode).toBe(400);
        const body = res.json();
        expect(body.code).toBe('invalid_request');
        expect(body.errors.map((e: { path: string }) => e.path)).toEqual(paths);
      });
    }

    it('for a session body too', async () => {
      const res = await s.app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { server: SERVER, kind: 'forever' },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual(['kind']);
    });
  });

  it('400 for malformed JSON, 415 for another media type', async () => {
    const bad = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { 'content-type': 'application/json' },
      payload: '{"server":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('invalid_request');
    const text = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { 'content-type': 'text/plain' },
      payload: 'hi',
    });
    expect(text.statusCode).toBe(415);
  });

  it('413 for a body over the limit, naming the body', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      payload: {
        server: SERVER,
        mcp: { method: 'tools/call', params: { name: 'x', arguments: { blob: 'x'.repeat(70_000) } } },
      },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'payload_too_large', errors: [{ path: '' }] });
    expect(res.json().message).toContain('65536');
  });

  it('404 with the envelope for an unknown route', async () => {
    const res = await s.app.inject({ method: 'GET', url: '/v1/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
  });

  describe('sessions', () => {
    it('create → 201 with a 256-bit id, minimal scope; revoke → 200; decide then refuses', async () => {
      const token = await s.token();
      const created = await s.app.inject({ method: 'POST', url: '/v1/sessions', payload: { token, server: SERVER } });
      expect(created.statusCode).toBe(201);
      const view = created.json();
      expect(view.id).toMatch(/^mws_[A-Za-z0-9_-]{43}$/);
      expect(view.scope).toEqual(['fs_list', 'fs_read', 'search_docs']);
      expect(view.owner).toMatchObject({ sub: 'alice', iss: 'urn:mcp-warden:dev' });
      const revoked = await s.app.inject({ method: 'DELETE', url: `/v1/sessions/${view.id}`, payload: { token } });
      expect(revoked.statusCode).toBe(200);
      expect(revoked.json().revoked_at).not.toBeNull();
      expect(revoked.json()).not.toHaveProperty('id');
      const again = await s.app.inject({ method: 'DELETE', url: `/v1/sessions/${view.id}` });
      expect(again.statusCode).toBe(200);
      const d = await s.app.inject({
        method: 'POST',
        url: '/v1/decide',
        payload: decideBody(token, { session: view.id }),
      });
      expect(d.json().reasons[0].code).toBe('session_revoked');
    });

    it('403 with reasons when the policy refuses the requested tools', async () => {
      const reader = await s.token();
      const res = await s.app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { token: reader, server: SERVER, tools: ['fs_write'] },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('session_not_granted');
      expect(res.json().reasons.map((r: { code: string }) => r.code)).toEqual(['tool_not_permitted']);
      // A writer's role lists fs_delete, a destructive tool: with the default data's
      // destructive_approval its session may hold it (each call still waits for an approval).
      const writer = await s.token({ roles: ['writer'] });
      const destructive = await s.app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { token: writer, server: SERVER, tools: ['fs_delete'] },
      });
      expect(destructive.statusCode).toBe(201);
      expect(destructive.json().scope).toEqual(['fs_delete']);
    });

    it('403 destructive_requires_role for a writer asking for fs_delete without destructive_approval', async () => {
      // The default bundle with its catalogue minus destructive_approval: a destructive
      // tool needs a destructive role again.
      const data = JSON.parse(readFileSync(join(POLICIES, 'data.json'), 'utf8')) as {
        catalogue: Record<string, unknown>;
      };
      delete data.catalogue.destructive_approval;
      const bundle = join(mkdtempSync(join(tmpdir(), 'mcp-warden-bundle-')), 'no-approval.tar.gz');
      await repackBundle(DEFAULT_BUNDLE, bundle, { files: { 'data.json': JSON.stringify(data) } });
      const strict = await startTestService({}, { policy: { bundle, watch: false } });
      try {
        const writer = await strict.token({ roles: ['writer'] });
        const destructive = await strict.app.inject({
          method: 'POST',
          url: '/v1/sessions',
          payload: { token: writer, server: SERVER, tools: ['fs_delete'] },
        });
        expect(destructive.statusCode).toBe(403);
        expect(destructive.json().code).toBe('session_not_granted');
        expect(destructive.json().reasons.map((r: { code: string }) => r.code)).toEqual(['destructive_requires_role']);
      } finally {
        await strict.app.close();
      }
    });

    it('401 without a valid token', async () => {
      const res = await s.app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { token: 'nope', server: SERVER },
      });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('invalid_token');
    });

    it('404 when revoking an id never issued', async () => {
      const res = await s.app.inject({ method: 'DELETE', url: `/v1/sessions/mws_${'B'.repeat(43)}` });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('session_unknown');
    });
  });

  it('GET /health reports the policy revision', async () => {
    const res = await s.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'OK',
      components: { policy: { status: 'OK' }, sessions: { status: 'OK' } },
    });
  });

  it('GET /openapi.json describes the routes from the zod schemas', async () => {
    const res = await s.app.inject({ method: 'GET', url: '/openapi.json' });
    const doc = res.json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/decide', '/v1/sessions', '/v1/sessions/{id}', '/health']),
    );
    const body = doc.paths['/v1/decide'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['server', 'mcp']));
    expect(body.additionalProperties).toBe(false);
  });
});

describe('dev tokens', () => {
  it('exist only in dev mode', async () => {
    const s = await startTestService({ dev: false });
    const res = await s.app.inject({ method: 'POST', url: '/v1/dev/token', payload: { sub: 'a', server: SERVER } });
    expect(res.statusCode).toBe(404);
    await s.app.close();
  });

  it('are refused to a client that is not on loopback', async () => {
    const s = await startTestService();
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/dev/token',
      payload: { sub: 'a', server: SERVER },
      remoteAddress: '10.0.0.7',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('dev_mode_required');
    await s.app.close();
  });
});
