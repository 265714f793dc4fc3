import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, reloaderReporting } from '../helpers/app.ts';
import { createTestCore, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

describe('GET /livez and /readyz', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  const get = async (url: string) => {
    const res = await app!.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() };
  };

  it('both answer 200 when the replica can decide', async () => {
    const t = await createTestCore();
    ({ app } = await buildTestApp(t.deps));
    expect(await get('/livez')).toEqual({ status: 200, body: { status: 'OK' } });
    expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'READY', waiting_for: [] } });
  });

  it('readyz is 503 until a policy is loaded; livez stays 200', async () => {
    const t = await createTestCore({ engine: null });
    ({ app } = await buildTestApp(t.deps, { reloader: reloaderReporting('NOT_READY') }));
    expect(await get('/readyz')).toEqual({ status: 503, body: { status: 'NOT_READY', waiting_for: ['policy'] } });
    expect((await get('/livez')).status).toBe(200);
  });

  it(
    'readyz is 503 naming the session store and the audit sink while they cannot answer; livez never ' + 'checks them',
    async () => {
      const t: TestCore = await createTestCore();
      const down = { status: () => 'ERROR' as const };
      ({ app } = await buildTestApp({
        ...t.deps,
        sessions: Object.assign(Object.create(t.sessions), down),
        audit: Object.assign(Object.create(t.audit), down),
      }));
      expect(await get('/readyz')).toEqual({
        status: 503,
        body: { status: 'NOT_READY', waiting_for: ['sessions', 'audit'] },
      });
      expect(await get('/livez')).toEqual({ status: 200, body: { status: 'OK' } });
    },
  );

  it('a WARN policy (a rejected reload, the last good one active) is still ready', async () => {
    const t = await createTestCore();
    ({ app } = await buildTestApp(t.deps, { reloader: reloaderReporting('WARN', 'abc') }));
    expect((await get('/readyz')).status).toBe(200);
  });

  it(
    'draining: readyz 503 while requests are still served; closing: new requests 503 shutting_down, ' +
      'probes still answer',
    async () => {
      const t = await createTestCore();
      const built = await buildTestApp(t.deps);
      app = built.app;
      const decide = async () =>
        app!.inject({
          method: 'POST',
          url: '/v1/decide',
          payload: {
            token: await t.idp.mint(),
            server: SERVER,
            mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
          },
        });
      built.lifecycle.drain();
      expect(await get('/readyz')).toEqual({ status: 503, body: { status: 'DRAINING', waiting_for: ['shutdown'] } });
      expect((await decide()).json()).toMatchObject({ allow: true });
      built.lifecycle.close();
      const refused = await decide();
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toMatchObject({ code: 'shutting_down' });
      expect((await get('/readyz')).status).toBe(503);
      expect((await get('/livez')).status).toBe(200);
      expect((await get('/health')).status).toBe(200);
    },
  );
});
