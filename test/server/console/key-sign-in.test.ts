import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { consoleOptions, createService } from '../../../src/service.ts';
import { startTestService } from '../../helpers/service.ts';

// Dev mode's console: signed in to with an admin API key (or, without keys, as `local`),
// never outside dev mode. Driven over HTTP with inject; the browser test covers OIDC.
const ADMIN_KEY = 'mwk_console-admin-0123456789abcdef';
const PEP_KEY = 'mwk_console-pep-0123456789abcdef';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const KEYS = {
  callers: {
    api_keys: [
      { id: 'ops', sha256: sha(ADMIN_KEY), role: 'admin' },
      { id: 'gw', sha256: sha(PEP_KEY), role: 'pep' },
    ],
  },
};
const HOST = { host: '127.0.0.1:8080' };
const ORIGIN = { ...HOST, origin: 'http://127.0.0.1:8080' };
const form = (fields: Record<string, string>) => ({
  headers: { ...ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});
const cookieOf = (setCookie: string | string[] | undefined) =>
  [setCookie ?? []]
    .flat()
    .find((c) => c.startsWith('mwc_session='))
    ?.split(';')[0];

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('the console in dev mode', () => {
  it('is served at /console on the listen address, and sends a visitor to the key form', async () => {
    app = (await startTestService({ port: 8080 }, KEYS)).app;
    const res = await app.inject({ method: 'GET', url: '/console/state', headers: HOST });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/console/sign-in?next=%2Fconsole%2Fstate');
    const page = await app.inject({ method: 'GET', url: '/console/sign-in?next=/console/state', headers: HOST });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('name="key" type="password"');
  });

  it('signs an admin key in with every role, and acts as console:<its id>', async () => {
    app = (await startTestService({ port: 8080 }, KEYS)).app;
    const res = await app.inject({
      method: 'POST',
      url: '/console/sign-in/key',
      ...form({ key: ADMIN_KEY, next: '/console/state' }),
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/console/state');
    const cookie = cookieOf(res.headers['set-cookie']);
    expect(cookie).toBeDefined();
    const state = await app.inject({ method: 'GET', url: '/console/state', headers: { ...HOST, cookie } });
    expect(state.statusCode).toBe(200);
    expect(state.body).toContain('ops (viewer, responder, approver)');
  });

  it('refuses a wrong key, a pep key and no key, and sends nobody elsewhere after sign-in', async () => {
    app = (await startTestService({ port: 8080 }, KEYS)).app;
    for (const [key, status, code] of [
      ['mwk_wrong-0123456789abcdef', 401, 'caller_unauthenticated'],
      [PEP_KEY, 403, 'caller_forbidden'],
      ['', 401, 'caller_unauthenticated'],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: '/console/sign-in/key', ...form({ key }) });
      expect(res.statusCode).toBe(status);
      expect(res.body).toContain(code);
      expect(cookieOf(res.headers['set-cookie'])).toBeUndefined();
    }
    const away = await app.inject({
      method: 'POST',
      url: '/console/sign-in/key',
      ...form({ key: ADMIN_KEY, next: 'https://evil.example/' }),
    });
    expect(away.headers.location).toBe('/console');
    const elsewhere = await app.inject({
      method: 'POST',
      url: '/console/sign-in/key',
      ...form({ key: ADMIN_KEY }),
      headers: { ...form({}).headers, origin: 'http://evil.example' },
    });
    expect(elsewhere.statusCode).toBe(403);
  });

  it('signs the local caller in when no keys are configured', async () => {
    app = (await startTestService({ port: 8080 })).app;
    const res = await app.inject({ method: 'POST', url: '/console/sign-in/key', ...form({}) });
    expect(res.statusCode).toBe(303);
    const state = await app.inject({
      method: 'GET',
      url: '/console/',
      headers: { ...HOST, cookie: cookieOf(res.headers['set-cookie']) },
    });
    expect(state.body).toContain('local (viewer, responder, approver)');
  });

  it('serves no console on port 0, where no URL is known', async () => {
    app = (await startTestService({ port: 0 }, KEYS)).app;
    expect((await app.inject({ method: 'GET', url: '/console/sign-in' })).statusCode).toBe(404);
  });
});

describe('the console outside dev mode', () => {
  it('has no key sign-in, and will not start without an issuer to sign in at', async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        ...KEYS,
        identity: { issuers: [{ issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks' }] },
        console: { url: 'https://warden.example.com/console' },
      },
    });
    expect(() => consoleOptions(config)).toThrow(/console\.sign_in: required/);
    const withIssuer = loadConfig({
      env: {},
      overrides: {
        ...KEYS,
        server: { port: 0 },
        identity: { issuers: [{ issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks' }] },
        console: {
          url: 'http://127.0.0.1/console',
          sign_in: { issuer: 'https://idp.example.com', client_id: 'warden-console' },
        },
      },
    });
    app = await createService(withIssuer);
    const res = await app.inject({
      method: 'POST',
      url: '/console/sign-in/key',
      headers: { host: '127.0.0.1', 'content-type': 'application/x-www-form-urlencoded' },
      payload: `key=${ADMIN_KEY}`,
    });
    expect(res.statusCode).toBe(404);
    expect(consoleOptions(withIssuer)?.keySignIn).toBe(false);
  });
});
