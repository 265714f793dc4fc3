import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, GatedAuditSink } from '../helpers/app.ts';
import { createTestCore } from '../helpers/core.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const SERVER = 'https://mcp.example.com/files';
const call = (token: string, args: unknown = { path: '/srv/data/a' }) => ({
  token,
  server: SERVER,
  mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: args } },
});
const nest = (depth: number): unknown => {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i += 1) value = { n: value };
  return value;
};

describe('request limits answer a clear 4xx naming the field', () => {
  let s: TestService | undefined;
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await s?.app.close();
    await app?.close();
    s = undefined;
    app = undefined;
  });

  describe('JSON shape, checked before validation', () => {
    it('a body nested deeper than server.max_json_depth → 400 invalid_request with the path', async () => {
      s = await startTestService({ max_json_depth: 8 });
      const token = await s.token();
      // body(1) → mcp(2) → params(3) → arguments(4) → n(5) …: arguments nested 5 deep reach level 8.
      expect(
        (await s.app.inject({ method: 'POST', url: '/v1/decide', payload: call(token, nest(5)) })).json(),
      ).toMatchObject({ allow: false });
      const res = await s.app.inject({ method: 'POST', url: '/v1/decide', payload: call(token, nest(6)) });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'invalid_request',
        errors: [{ path: 'mcp.params.arguments.n.n.n.n.n' }],
      });
      expect(res.json().message).toMatch(/deeper than 8/);
    });

    it('a body with more keys than server.max_json_keys → 413 payload_too_large with the path', async () => {
      s = await startTestService({ max_json_keys: 100 });
      const args = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
      const res = await s.app.inject({ method: 'POST', url: '/v1/decide', payload: call(await s.token(), args) });
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({ code: 'payload_too_large', errors: [{ path: 'mcp.params.arguments' }] });
    });

    it(
      'the defaults: 32 levels and 10 000 keys; a 64 KiB body of brackets is refused before validation, ' + 'not a 500',
      async () => {
        s = await startTestService();
        const res = await s.app.inject({
          method: 'POST',
          url: '/v1/sessions',
          headers: { 'content-type': 'application/json' },
          payload: `{"server":${'['.repeat(30_000)}${']'.repeat(30_000)}}`,
        });
        expect(res.statusCode).toBe(400);
        expect(res.json().errors[0].path).toBe(`server${'.0'.repeat(31)}`);
      },
    );

    it('JSON with __proto__ is still refused as fastify refuses it', async () => {
      s = await startTestService();
      const res = await s.app.inject({
        method: 'POST',
        url: '/v1/decide',
        headers: { 'content-type': 'application/json' },
        payload: '{"server":"x","mcp":{"method":"ping"},"__proto__":{"admin":true}}',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('invalid_request');
    });
  });

  describe('token size (identity.max_token_bytes)', () => {
    it('decide denies token_too_large; a session answers 401 token_too_large', async () => {
      s = await startTestService({}, { identity: { max_token_bytes: 1024 } });
      const big = `${'a'.repeat(600)}.${'b'.repeat(600)}.c`;
      const decided = await s.app.inject({ method: 'POST', url: '/v1/decide', payload: call(big) });
      expect(decided.json()).toMatchObject({
        allow: false,
        reasons: [{ code: 'token_too_large', message: 'the token is longer than 1024 bytes' }],
      });
      const session = await s.app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { token: big, server: SERVER },
      });
      expect(session.statusCode).toBe(401);
      expect(session.json().code).toBe('token_too_large');
    });

    it('the configured maximum (up to 64 KiB) is the limit, not the body schema', async () => {
      s = await startTestService({ body_limit_bytes: 131_072 }, { identity: { max_token_bytes: 65_536 } });
      const res = await s.app.inject({ method: 'POST', url: '/v1/decide', payload: call(`${'a'.repeat(30_000)}.b.c`) });
      expect(res.statusCode).toBe(200);
      expect(res.json().reasons[0].code).toBe('invalid_token');
    });
  });

  it('context over 2 KiB: 400 naming context, for a session as for a decision', async () => {
    s = await startTestService();
    const token = await s.token();
    const context = { blob: 'x'.repeat(2100) };
    for (const [url, payload] of [
      ['/v1/sessions', { token, server: SERVER, context }],
      ['/v1/decide', { ...call(token), context }],
    ] as const) {
      const res = await s.app.inject({ method: 'POST', url, payload });
      expect({
        url,
        status: res.statusCode,
        code: res.json().code,
        paths: res.json().errors.map((e: { path: string }) => e.path),
      }).toEqual({ url, status: 400, code: 'invalid_request', paths: ['context'] });
    }
    const fits = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { token, server: SERVER, context: { blob: 'x'.repeat(2000) } },
    });
    expect(fits.statusCode).toBe(201);
  });

  it(
    'sessions per principal: one more than session.max_per_principal → 429 session_limit_reached; ' +
      'revoking frees a place',
    async () => {
      s = await startTestService({}, { session: { max_per_principal: 2 } });
      const alice = await s.token();
      const create = async (token: string) =>
        s!.app.inject({ method: 'POST', url: '/v1/sessions', payload: { token, server: SERVER, tools: ['fs_read'] } });
      const first = await create(alice);
      expect((await create(alice)).statusCode).toBe(201);
      const refused = await create(alice);
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'session_limit_reached' });
      expect(refused.json().message).toMatch(/2 live sessions/);
      expect((await create(await s.token({ sub: 'bob' }))).statusCode).toBe(201);
      await s.app.inject({ method: 'DELETE', url: `/v1/sessions/${first.json().id}` });
      expect((await create(alice)).statusCode).toBe(201);
    },
  );

  it('request timeout: an answer later than server.request_timeout_ms → 503 request_timeout', async () => {
    const t = await createTestCore();
    const gate = new GatedAuditSink(t.audit);
    ({ app } = await buildTestApp({ ...t.deps, audit: gate }, { requestTimeoutMs: 150 }));
    const started = Date.now();
    const res = await app.inject({ method: 'POST', url: '/v1/decide', payload: call(await t.idp.mint()) });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'request_timeout' });
    expect(Date.now() - started).toBeLessThan(2_000);
    gate.release();
    // Probes are quick and answer as ever.
    expect((await app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(200);
  });
});
