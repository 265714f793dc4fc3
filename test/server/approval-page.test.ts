import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { escapeHtml, html } from '../../src/server/web/html.ts';
import { createService } from '../../src/service.ts';
import {
  type AuthorizationServer,
  browse,
  type Browsed,
  CookieJar,
  startAuthorizationServer,
} from '../helpers/oidc-provider.ts';

// The approval page against a real authorization server (oidc-provider): an approver walks
// page → sign-in → callback → page, and the form's decision is made by the approver's token.
const SERVER = 'https://mcp.example.com/files';
const AGENT = 'agent-app';
const PAGE_CLIENT = 'mcp-warden-approvals';
const CONFIDENTIAL_CLIENT = 'mcp-warden-approvals-confidential';
const CLIENT_SECRET = 'a secret: with spaces & symbols';
const key = () => randomBytes(24).toString('base64url');
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const PEP_KEY = key();
const ADMIN_KEY = key();

let as: AuthorizationServer;
let service: FastifyInstance;
let confidential: FastifyInstance;
let page: string;
let origin: string;
let reviewPage: string;
/** What the main service logged, at trace level. */
const logged: string[] = [];

/** A port nobody listens on now (the service's URL must be known before its config). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function configOf(port: number, approvals: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-approval-page-'));
  return {
    dir,
    config: loadConfig({
      env: {},
      overrides: {
        server: { port },
        identity: { issuers: [{ issuer: as.issuer, discovery: true }], servers: [SERVER] },
        callers: {
          api_keys: [
            { id: 'proxy', sha256: sha256(PEP_KEY), role: 'pep' },
            { id: 'console', sha256: sha256(ADMIN_KEY), role: 'admin' },
          ],
        },
        approvals,
        audit: { file: join(dir, 'audit.jsonl'), checkpoint_key_file: join(dir, 'checkpoint.jwk') },
      },
    }),
  };
}

beforeAll(async () => {
  const [port, reviewPort] = [await freePort(), await freePort()];
  origin = `http://127.0.0.1:${port}`;
  page = `${origin}/approvals`;
  reviewPage = `http://127.0.0.1:${reviewPort}/review`;
  as = await startAuthorizationServer({
    clients: [
      { client_id: AGENT, redirect_uris: ['http://127.0.0.1:1/callback'] },
      { client_id: PAGE_CLIENT, redirect_uris: [`${page}/callback`] },
      { client_id: CONFIDENTIAL_CLIENT, redirect_uris: [`${reviewPage}/callback`], client_secret: CLIENT_SECRET },
    ],
    resources: [SERVER],
    roles: { alice: ['writer'], bob: ['admin'], dave: ['writer'] },
  });
  service = await createService(
    configOf(port, { page_url: page, sign_in: { issuer: as.issuer, client_id: PAGE_CLIENT } }).config,
    { level: 'trace', stream: { write: (line: string) => logged.push(line) } },
  );
  await service.listen({ host: '127.0.0.1', port });
  const { config, dir } = configOf(reviewPort, {});
  const secretFile = join(dir, 'client-secret');
  writeFileSync(secretFile, `${CLIENT_SECRET}\n`);
  confidential = await createService({
    ...config,
    approvals: {
      ...config.approvals,
      page_url: reviewPage,
      sign_in: {
        issuer: as.issuer,
        client_id: CONFIDENTIAL_CLIENT,
        client_secret_file: secretFile,
        scopes: ['openid'],
      },
    },
  });
  await confidential.listen({ host: '127.0.0.1', port: reviewPort });
});
afterAll(async () => {
  await service?.close();
  await confidential?.close();
  await as?.stop();
});

/** Alice (a writer) calls fs_delete in a session of her own: the default policy parks it for an admin. */
async function park(app: FastifyInstance, path: string): Promise<{ id: string; url: string }> {
  const token = await as.signIn({ user: 'alice', clientId: AGENT, resource: SERVER, scope: 'openid mcp:read' });
  const headers = { authorization: `Bearer ${PEP_KEY}` };
  const session = await app.inject({
    method: 'POST',
    url: '/v1/sessions',
    headers,
    payload: { token, server: SERVER, tools: ['fs_delete'] },
  });
  expect(session.statusCode).toBe(201);
  const decided = await app.inject({
    method: 'POST',
    url: '/v1/decide',
    headers,
    payload: {
      token,
      session: session.json().id,
      server: SERVER,
      mcp: {
        method: 'tools/call',
        params: { name: 'fs_delete', arguments: { path } },
        client: { name: 'files-agent', version: '1.2' },
      },
    },
  });
  const answer = decided.json();
  expect(answer).toMatchObject({ allow: false, reasons: [{ code: 'approval_required' }] });
  return answer.approval;
}

async function approval(app: FastifyInstance, id: string): Promise<Record<string, unknown>> {
  const res = await app.inject({ url: `/v1/approvals/${id}`, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  expect(res.statusCode).toBe(200);
  return res.json();
}

/** `user` opens the approval link and signs in: the request page. */
async function signedIn(url: string, user: string): Promise<Browsed> {
  const shown = await browse(url, { user });
  expect(shown.status, shown.body).toBe(200);
  expect(shown.url.href).toBe(url);
  return shown;
}

const csrfOf = (shown: Browsed) => /name="csrf" value="([^"]+)"/.exec(shown.body)?.[1];

/** Posts the page's form as the browser would: its cookies, its Origin. */
function post(url: string, fields: Record<string, string>, jar = new CookieJar(), from = new URL(url).origin) {
  return browse(`${url}/decision`, {
    jar,
    init: {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: from },
      body: new URLSearchParams(fields).toString(),
    },
  });
}

describe('html', () => {
  it('escapes every value, keeps fragments it built, and joins arrays', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${['<', html`<br>`]}${null}${undefined}${false}${0}</p>`.value).toBe(
      '<p><b>&lt;i&gt;</b>&lt;<br>0</p>',
    );
  });
});

describe('the approval page', () => {
  it('signs bob in, shows him the request, and his grant is the decision', async () => {
    const { id, url } = await park(service, '/srv/data/a.txt');
    expect(url).toBe(`${page}/${id}`);
    const shown = await signedIn(url, 'bob');
    expect(shown.headers.get('content-type')).toBe('text/html; charset=utf-8');
    for (const text of [
      'Signed in as <code>bob</code>',
      '<code>fs_delete</code>',
      `<code>${SERVER}</code>`,
      `<code>alice</code> at <code>${as.issuer}</code>, client <code>${AGENT}</code>`,
      '&quot;name&quot;: &quot;files-agent&quot;',
      '&quot;path&quot;: &quot;/srv/data/a.txt&quot;',
      'roles: admin',
      '<strong>pending</strong>',
      `<form method="post" action="/approvals/${id}/decision">`,
      '<label for="note">Note (optional)</label>',
      '<textarea id="note" name="note" maxlength="1024"></textarea>',
      '<button type="submit" name="decision" value="grant" class="grant">Grant</button>',
      '<button type="submit" name="decision" value="deny" class="deny">Deny</button>',
      '<html lang="en">',
    ]) {
      expect(shown.body).toContain(text);
    }
    const view = await approval(service, id);
    expect(shown.body).toContain(`<code>${view.arguments_sha256 as string}</code>`);
    expect(shown.jar.get(new URL(url), 'mwa_session')).toBeDefined();

    const granted = await post(url, { csrf: csrfOf(shown)!, decision: 'grant', note: 'ticket #42' }, shown.jar);
    expect(granted.status, granted.body).toBe(200);
    expect(granted.body).toContain('<h1>Request granted</h1>');
    expect(granted.body).toContain('ticket #42');
    expect(await approval(service, id)).toMatchObject({
      state: 'granted',
      decided_by: { sub: 'bob', iss: as.issuer, client_id: PAGE_CLIENT, caller: 'approval-page' },
      note: 'ticket #42',
    });
    // One decision per sign-in: the session ended with it.
    expect(shown.jar.get(new URL(url), 'mwa_session')).toBeUndefined();
    const again = await post(url, { csrf: csrfOf(shown)!, decision: 'deny' }, shown.jar);
    expect(again.status).toBe(403);
  });

  it('refuses a form without the session cookie, or with a missing or wrong CSRF token: still pending', async () => {
    const { id, url } = await park(service, '/srv/data/b.txt');
    const shown = await signedIn(url, 'bob');
    const csrf = csrfOf(shown)!;
    const refused = [
      await post(url, { decision: 'grant' }, shown.jar),
      await post(url, { csrf: `${csrf.slice(0, -1)}x`, decision: 'grant' }, shown.jar),
      await post(url, { csrf: '', decision: 'grant' }, shown.jar),
      await post(url, { csrf, decision: 'grant' }),
    ];
    for (const answer of refused) {
      expect(answer.status).toBe(403);
      expect(answer.body).toContain('CSRF');
    }
    expect((await approval(service, id)).state).toBe('pending');
    // The session of another request does not decide this one.
    const other = await park(service, '/srv/data/b2.txt');
    const elsewhere = await post(other.url, { csrf, decision: 'grant' }, shown.jar);
    expect(elsewhere.status).toBe(403);
    expect((await approval(service, other.id)).state).toBe('pending');
    // The refusals ended nothing: bob still decides, here a deny.
    const denied = await post(url, { csrf, decision: 'deny' }, shown.jar);
    expect(denied.status, denied.body).toBe(200);
    expect(denied.body).toContain('<h1>Request denied</h1>');
    expect(await approval(service, id)).toMatchObject({ state: 'denied', decided_by: { sub: 'bob' }, note: null });
  });

  it('refuses a callback whose state is not the flow of this browser', async () => {
    const { url } = await park(service, '/srv/data/c.txt');
    const isCallback = (u: URL) => u.pathname === '/approvals/callback';
    const started = await browse(url, { user: 'bob', stopAt: isCallback });
    expect(started.stopped).toBe(true);
    const wrong = new URL(started.url);
    wrong.searchParams.set('state', 'not-the-state');
    const refused = await browse(wrong, { jar: started.jar });
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('This sign-in is unknown');
    expect(refused.headers.get('content-security-policy')).toContain("default-src 'none'");
    // The flow was used up by the wrong answer: the right one no longer signs in either.
    expect((await browse(started.url, { jar: started.jar })).status).toBe(400);
    // Nor does a callback in a browser that never started the flow.
    const again = await browse(url, { user: 'bob', stopAt: isCallback });
    expect((await browse(again.url)).status).toBe(400);
  });

  it('refuses alice approving her own call, and dave who holds no admin role', async () => {
    const { id, url } = await park(service, '/srv/data/d.txt');
    for (const user of ['alice', 'dave']) {
      const shown = await signedIn(url, user);
      expect(shown.body).toContain(`Signed in as <code>${user}</code>`);
      const refused = await post(url, { csrf: csrfOf(shown)!, decision: 'grant' }, shown.jar);
      expect(refused.status).toBe(403);
      expect(refused.body).toContain('<code>approval_forbidden</code>');
      expect(refused.body).toContain(user === 'alice' ? 'separation of duties' : 'holds none of the roles');
    }
    expect((await approval(service, id)).state).toBe('pending');
  });

  it('shows a decided request without a form, and a second decision is approval_closed', async () => {
    const { id, url } = await park(service, '/srv/data/e.txt');
    const first = await signedIn(url, 'bob');
    const second = await signedIn(url, 'bob');
    expect((await post(url, { csrf: csrfOf(first)!, decision: 'grant' }, first.jar)).status).toBe(200);
    const closed = await post(url, { csrf: csrfOf(second)!, decision: 'deny' }, second.jar);
    expect(closed.status).toBe(409);
    expect(closed.body).toContain('<code>approval_closed</code>');
    const later = await signedIn(url, 'bob');
    expect(later.body).toContain('<strong>granted</strong>');
    expect(later.body).not.toContain('<form');
    expect((await approval(service, id)).state).toBe('granted');
  });

  it('answers a form with a foreign Origin by the origin guard, and keeps the page origin off the API', async () => {
    const { id, url } = await park(service, '/srv/data/f.txt');
    const shown = await signedIn(url, 'bob');
    const foreign = await post(url, { csrf: csrfOf(shown)!, decision: 'grant' }, shown.jar, 'https://evil.example');
    expect(foreign.status).toBe(403);
    expect(foreign.body).toContain('origin_not_allowed');
    expect((await approval(service, id)).state).toBe('pending');
    const api = await fetch(`${origin}/v1/approvals/${id}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}`, origin },
    });
    expect(api.status).toBe(403);
    expect(((await api.json()) as { code: string }).code).toBe('origin_not_allowed');
  });

  it('sends its security headers on every answer, the CSP naming the hash of its one style block', async () => {
    const { url } = await park(service, '/srv/data/g.txt');
    const redirect = await fetch(url, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const authorize = new URL(redirect.headers.get('location')!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${as.issuer}/auth`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: PAGE_CLIENT,
      redirect_uri: `${page}/callback`,
      scope: 'openid',
      resource: SERVER,
      code_challenge_method: 'S256',
      prompt: 'login',
    });
    const flow = redirect.headers.getSetCookie()[0]!;
    expect(flow).toMatch(/^mwa_flow=[\w-]{43}; Path=\/approvals; Max-Age=600; HttpOnly; SameSite=Lax$/);
    const shown = await signedIn(url, 'bob');
    const unknown = await fetch(`${page}/mwa_${'A'.repeat(43)}`);
    for (const headers of [redirect.headers, shown.headers, unknown.headers]) {
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(headers.get('referrer-policy')).toBe('same-origin');
      expect(headers.get('cache-control')).toBe('no-store');
      expect(headers.get('x-content-type-options')).toBe('nosniff');
    }
    const style = /<style>([^<]*)<\/style>/.exec(shown.body)![1]!;
    const hash = createHash('sha256').update(style).digest('base64');
    expect(shown.headers.get('content-security-policy')).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    expect(shown.body).not.toContain('<script');
  });

  it('sets the session cookie SameSite=Strict, and the callback continues by a same-site navigation', async () => {
    const { id, url } = await park(service, '/srv/data/h.txt');
    const started = await browse(url, { user: 'bob', stopAt: (u) => u.pathname === '/approvals/callback' });
    const callback = await fetch(started.url, {
      redirect: 'manual',
      headers: { cookie: started.jar.header(started.url)! },
    });
    expect(callback.status).toBe(200);
    const [cleared, session] = callback.headers.getSetCookie();
    expect(cleared).toMatch(/^mwa_flow=; Path=\/approvals; Max-Age=0; HttpOnly; SameSite=Lax$/);
    expect(session).toMatch(/^mwa_session=[\w-]{43}; Path=\/approvals; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    const body = await callback.text();
    expect(body).toContain(`<meta http-equiv="refresh" content="0; url=/approvals/${id}">`);
    expect(body).toContain(`<a href="/approvals/${id}">Continue to the approval request</a>`);
  });

  it('renders a <script> in the arguments as text', async () => {
    const { url } = await park(service, '/srv/data/<script>alert(1)</script>.txt');
    const shown = await signedIn(url, 'bob');
    expect(shown.body).toContain('/srv/data/&lt;script&gt;alert(1)&lt;/script&gt;.txt');
    expect(shown.body).not.toContain('<script>');
  });

  it('answers an unknown or malformed id with a 404 page, not the JSON envelope, and starts no sign-in', async () => {
    for (const id of [`mwa_${'B'.repeat(43)}`, 'not-an-id']) {
      const res = await fetch(`${page}/${id}`, { redirect: 'manual' });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(await res.text()).toContain('<code>approval_unknown</code>');
    }
    const elsewhere = await fetch(`${page}/a/b/c`);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });

  it('signs in as a confidential client (client_secret_basic), at the path of its page_url', async () => {
    const { id, url } = await park(confidential, '/srv/data/i.txt');
    expect(url).toBe(`${reviewPage}/${id}`);
    const shown = await signedIn(url, 'bob');
    expect(shown.body).toContain(`<form method="post" action="/review/${id}/decision">`);
    const granted = await post(url, { csrf: csrfOf(shown)!, decision: 'grant' }, shown.jar);
    expect(granted.status, granted.body).toBe(200);
    expect(await approval(confidential, id)).toMatchObject({
      state: 'granted',
      decided_by: { sub: 'bob', client_id: CONFIDENTIAL_CLIENT },
    });
  });
});

describe('the approval page, logging', () => {
  it('logged no token, code or cookie of all the sign-ins above', () => {
    const all = logged.join('');
    expect(all).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(all).not.toMatch(/[?&]code=/);
    expect(all).not.toContain('mwa_session=');
  });
});

describe('the approval page, configured', () => {
  it('is not served without approvals.sign_in', async () => {
    const { config } = configOf(0, {});
    const app = await createService(config);
    try {
      const res = await app.inject({ url: `/approvals/mwa_${'C'.repeat(43)}` });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'not_found' });
    } finally {
      await app.close();
    }
  });

  it('answers 502 when the issuer cannot be reached, without a stack', async () => {
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const { config } = configOf(0, {
      page_url: 'http://127.0.0.1:9/approvals',
      sign_in: { issuer: unreachable, client_id: PAGE_CLIENT },
    });
    const app = await createService(config);
    try {
      const { id } = await park(app, '/srv/data/j.txt');
      const res = await app.inject({ url: `/approvals/${id}` });
      expect(res.statusCode).toBe(502);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.body).toContain('The sign-in failed: the issuer could not be reached (discovery).');
      expect(res.body).not.toMatch(/ at .*\.ts:\d+/);
    } finally {
      await app.close();
    }
  });

  it('fails start-up when the client secret file cannot be read, or the page has no URL', async () => {
    const missing = configOf(0, {
      page_url: 'http://127.0.0.1:9/approvals',
      sign_in: { issuer: as.issuer, client_id: PAGE_CLIENT, client_secret_file: '/nonexistent/secret' },
    });
    await expect(createService(missing.config)).rejects.toThrow(
      'approvals.sign_in.client_secret_file: cannot read /nonexistent/secret (ENOENT)',
    );
    const noUrl = configOf(0, { sign_in: { issuer: as.issuer, client_id: PAGE_CLIENT } });
    await expect(createService(noUrl.config)).rejects.toThrow('approvals.sign_in needs approvals.page_url');
    const clear = configOf(0, {
      page_url: 'http://127.0.0.1:9/approvals',
      sign_in: { issuer: 'http://idp.example.com', client_id: PAGE_CLIENT },
    });
    await expect(createService(clear.config)).rejects.toThrow('approvals.sign_in.issuer must be https:');
  });
});
