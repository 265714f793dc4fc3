import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { shutdown } from '../../src/server/shutdown.ts';
import { buildTestApp, GatedAuditSink, until } from '../helpers/app.ts';
import { createTestCore, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

const body = (token: string) =>
  JSON.stringify({
    token,
    server: SERVER,
    mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
  });

describe('shutdown()', () => {
  let t: TestCore;
  let gate: GatedAuditSink;
  let app: FastifyInstance;
  let url: string;
  const started = async () => {
    t = await createTestCore();
    gate = new GatedAuditSink(t.audit);
    const built = await buildTestApp({ ...t.deps, audit: gate });
    app = built.app;
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    return built.lifecycle;
  };
  afterEach(() => gate?.release());

  it('turns readiness 503 first, refuses new connections, lets requests in flight finish, closes cleanly', async () => {
    const lifecycle = await started();
    const token = await t.idp.mint();
    const inFlight = [1, 2, 3].map(() =>
      fetch(`${url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(token) }),
    );
    await until(() => gate.waiting === 3, 'three decisions waiting on the audit sink');
    const closing = shutdown(app, lifecycle, { delayMs: 300, graceMs: 5_000 });
    // The delay: still listening, and saying it is not ready.
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'DRAINING', waiting_for: ['shutdown'] });
    // Then the listener closes.
    await until(() => lifecycle.phase === 'closing', 'closing');
    await expect(fetch(`${url}/livez`)).rejects.toThrow();
    gate.release();
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    for (const a of answers) expect(await a.json()).toMatchObject({ allow: true });
    expect(await closing).toBe('clean');
    expect(t.audit.saved.filter((r) => r.kind === 'decision')).toHaveLength(3);
  });

  it('cuts requests still in flight at the grace, and says so', async () => {
    const lifecycle = await started();
    const stuck = fetch(`${url}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(await t.idp.mint()),
    });
    await until(() => gate.waiting === 1, 'a decision waiting on the audit sink');
    expect(await shutdown(app, lifecycle, { delayMs: 0, graceMs: 200 })).toBe('forced');
    await expect(stuck).rejects.toThrow();
  });

  it('settles an app that cuts connections on close: after the drain, with the grace, before closing', async () => {
    const lifecycle = await started();
    const steps: string[] = [];
    const target = {
      drain: () => {
        steps.push('drain');
        lifecycle.drain();
      },
      settle: async (graceMs: number) => {
        steps.push(`settle ${graceMs} ${lifecycle.phase} listening=${app.server.listening}`);
        return true;
      },
    };
    expect(await shutdown(app, target, { delayMs: 0, graceMs: 1_234 })).toBe('clean');
    expect(steps).toEqual(['drain', 'settle 1234 draining listening=true']);
    expect([lifecycle.phase, app.server.listening]).toEqual(['closing', false]);
  });

  it('is forced when the settle leaves requests in flight', async () => {
    await started();
    const target = { drain: () => undefined, settle: async () => false };
    expect(await shutdown(app, target, { delayMs: 0, graceMs: 100 })).toBe('forced');
  });
});
