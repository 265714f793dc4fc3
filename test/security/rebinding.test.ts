import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.ts';

const SERVER = 'https://mcp.example.com/files';

/** Every method and path fastify has registered, read from its route tree (`:param` segments filled in). */
function registeredRoutes(tree: string): { method: string; url: string }[] {
  const routes: { method: string; url: string }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \((.+)\))?$/.exec(line);
    if (match === null) continue;
    stack.length = (match[1] as string).length / 4;
    stack.push(match[2] as string);
    const url = stack.join('').replace(/:[A-Za-z_]+/g, 'mws_0000');
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url });
  }
  return routes;
}

/** The refusal's code: the API's JSON `code`, or the one a page (the console's) names in its problem. */
function codeOf(res: {
  headers: Record<string, unknown>;
  json(): { code?: string };
  body: string;
}): string | undefined {
  if (String(res.headers['content-type']).startsWith('text/html')) {
    return /<code>([a-z_]+)<\/code><\/p><\/div>/.exec(res.body)?.[1];
  }
  return res.json().code;
}

describe('DNS rebinding to the decision API', () => {
  let s: TestService;
  let routes: { method: string; url: string }[];
  beforeAll(async () => {
    // Dev mode and no keys: the keyless local caller with every power, the richest target.
    s = await startTestService();
    routes = registeredRoutes(s.app.printRoutes({ commonPrefix: false }));
  });
  afterAll(async () => {
    await s.app.close();
  });

  const send = (route: { method: string; url: string }, headers: Record<string, string>) =>
    s.app.inject({
      method: route.method as InjectOptions['method'],
      url: route.url,
      headers,
      payload: route.method === 'GET' || route.method === 'HEAD' ? undefined : {},
    });

  it('the route list is the whole API', () => {
    const urls = routes.map((r) => `${r.method} ${r.url}`);
    for (const expected of [
      'POST /v1/decide',
      'POST /v1/sessions/revoke',
      'POST /v1/admin/reload',
      'GET /v1/audit',
      'POST /v1/dev/token',
      'GET /livez',
      'GET /metrics',
      'GET /openapi.json',
      // The dev-mode console, on the same port: its pages and forms are guarded alike.
      'GET /console/state',
      'POST /console/sign-in/key',
    ]) {
      expect(urls).toContain(expected);
    }
  });

  it('a request with a foreign Host is refused 403 host_not_allowed on every route', async () => {
    for (const route of routes) {
      const res = await send(route, { host: 'evil.example:8181' });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(403);
      if (route.method !== 'HEAD') expect(codeOf(res), `${route.method} ${route.url}`).toBe('host_not_allowed');
    }
  });

  it('a browser Origin that is not allowed is refused 403 origin_not_allowed on every route', async () => {
    for (const origin of ['http://evil.example:8181', 'http://localhost:3000', 'null']) {
      for (const route of routes) {
        const res = await send(route, { host: 'localhost:8181', origin });
        expect(res.statusCode, `${origin} ${route.method} ${route.url}`).toBe(403);
        if (route.method !== 'HEAD') expect(codeOf(res), `${route.method} ${route.url}`).toBe('origin_not_allowed');
      }
    }
  });

  it('a route that is not there is refused before it is looked up', async () => {
    const res = await s.app.inject({ method: 'GET', url: '/v1/nothing', headers: { host: 'evil.example' } });
    expect(res.json().code).toBe('host_not_allowed');
  });

  it('the same requests with a loopback Host and no Origin are not refused by the guard', async () => {
    for (const route of routes) {
      const res = await send(route, { host: 'localhost:8181' });
      const code = route.method === 'HEAD' || res.statusCode < 400 ? null : codeOf(res);
      expect(['host_not_allowed', 'origin_not_allowed'], `${route.method} ${route.url}`).not.toContain(code);
    }
  });

  it('a page rebound to 127.0.0.1 can neither mint a dev token nor bulk-revoke over a real socket', async () => {
    const token = await s.token();
    const created = await s.app.inject({ method: 'POST', url: '/v1/sessions', payload: { token, server: SERVER } });
    expect(created.statusCode).toBe(201);
    await s.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = s.app.server.address() as AddressInfo;
    // What the browser sends once evil.example resolves to 127.0.0.1: its own name and origin.
    const post = (path: string, body: unknown) =>
      new Promise<{ status: number; body: { code: string } }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path,
            method: 'POST',
            headers: {
              host: `evil.example:${port}`,
              origin: `http://evil.example:${port}`,
              'content-type': 'application/json',
            },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    expect(await post('/v1/dev/token', { sub: 'mallory', server: SERVER, roles: ['admin'] })).toEqual({
      status: 403,
      body: expect.objectContaining({ code: 'host_not_allowed' }),
    });
    expect(await post('/v1/sessions/revoke', { subject: 'alice' })).toEqual({
      status: 403,
      body: expect.objectContaining({ code: 'host_not_allowed' }),
    });
    // The session the bulk revoke aimed at still decides.
    const call = { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } };
    const decided = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      payload: { token, session: created.json().id, server: SERVER, mcp: call },
    });
    expect(decided.json()).toMatchObject({ allow: true, reasons: [] });
  });
});
