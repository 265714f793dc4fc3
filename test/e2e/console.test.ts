import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from '../helpers/browser.ts';
import { startCountingTap, type CountingTap } from '../helpers/everything.ts';
import { startAuthorizationServer, type AuthorizationServer } from '../helpers/oidc-provider.ts';
import { freePort } from '../helpers/sdk-server.ts';
import { filesServer } from '../helpers/files-server.ts';
import { startSdkUpstream, type SdkUpstream } from '../helpers/sdk-upstream.ts';
import { startWardenStack, type WardenStack } from '../helpers/warden-stack.ts';

// The incident-review console in a real Chromium (Debian's, driven by playwright-core):
// sign-in through a real authorization server (oidc-provider), a real MCP client through
// the proxy to a real upstream behind a counting tap. A responder revokes alice's session
// and the proxy refuses her next call; the revoke is in the timeline; the console answers
// who could call fs_delete; an approver decides a parked call. CSRF, CSP and roles are
// tried and refused.
const SERVER = 'https://mcp.example.com/files';
const AGENT = 'agent-app';
const CONSOLE_CLIENT = 'warden-console';

let as: AuthorizationServer;
let upstream: SdkUpstream;
let tap: CountingTap;
let stack: WardenStack;
let browser: Browser;
let base: string;
let consoleUrl: string;

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  consoleUrl = `${base}/console`;
  as = await startAuthorizationServer({
    clients: [
      { client_id: AGENT, redirect_uris: ['http://127.0.0.1:1/callback'] },
      { client_id: CONSOLE_CLIENT, redirect_uris: [`${consoleUrl}/callback`, `${base}/approvals/callback`] },
    ],
    resources: [SERVER, consoleUrl],
    roles: { alice: ['writer'], dave: ['writer'], erin: ['writer'], bob: ['admin'], carol: ['auditor'] },
  });
  upstream = await startSdkUpstream(filesServer);
  tap = await startCountingTap(upstream.url);
  stack = await startWardenStack({
    issuer: as.issuer,
    resource: SERVER,
    upstreamUrl: tap.url,
    port,
    overrides: {
      identity: { servers: [SERVER, consoleUrl] },
      approvals: {
        page_url: `${base}/approvals`,
        sign_in: { issuer: as.issuer, client_id: CONSOLE_CLIENT, scopes: ['openid', 'mcp:read'] },
      },
      console: {
        url: consoleUrl,
        sign_in: { issuer: as.issuer, client_id: CONSOLE_CLIENT, scopes: ['openid'] },
        roles: { viewer: ['auditor'], responder: ['admin'], approver: ['admin'] },
      },
    },
  });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await tap?.stop();
  await upstream?.close();
  await as?.stop();
});

const tokenOf = (user: string) => as.signIn({ user, clientId: AGENT, resource: SERVER, scope: 'openid mcp:read' });

async function connect(user: string, capabilities: Record<string, unknown> = {}): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(stack.proxyUrl), {
    requestInit: { headers: { authorization: `Bearer ${await tokenOf(user)}` } },
  });
  const client = new Client({ name: 'e2e-console', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return client;
}

async function refusal(promise: Promise<unknown>): Promise<McpError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  return err as McpError;
}

/** Signs `user` in at the authorization server's login form, from wherever the page was sent there. */
async function loginAt(page: Page, user: string): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(as.issuer));
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', 'any');
  await page.click('button[type="submit"]');
}

/** A new browser (its own cookies) signed in to the console as `user`, on `path`. */
async function signedIn(user: string, path = '/state'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${consoleUrl}${path}`);
  await loginAt(page, user);
  await page.waitForURL(`${consoleUrl}/callback**`);
  await page.click('#continue');
  await page.waitForURL(`${consoleUrl}${path}`);
  return page;
}

/** The console's CSRF token of a signed-in page (the sign-out form carries it). */
const csrfOf = (page: Page) => page.locator('form[action$="/sign-out"] input[name="csrf"]').inputValue();

describe('the console, in Chromium, against the real parts', { timeout: 60_000 }, () => {
  let bob: Page;
  let aliceSession: string;

  it('signs a responder in through the authorization server and shows alice’s live session', async () => {
    const alice = await connect('alice');
    await alice.callTool({ name: 'fs_read', arguments: { path: '/srv/data/a.txt' } });
    expect(tap.counts()['tools/call:fs_read']).toBe(1);
    bob = await signedIn('bob');
    expect(await bob.locator('header .who').textContent()).toContain('bob');
    const cookie = (await bob.context().cookies()).find((c) => c.name === 'mwc_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    await bob.fill('#f-subject', 'alice');
    await bob.click('form.filters button[type="submit"]');
    await bob.waitForURL(/subject=alice/);
    const rows = bob.locator('tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('mcp-session');
    await screenshot(bob, 'state');
    await rows.first().getByRole('link', { name: /Open/ }).click();
    aliceSession = bob.url().split('/state/')[1]!;
    expect(aliceSession).toMatch(/^[0-9a-f]{64}$/);

    // Revoked with a note and a confirmation; the proxy refuses alice's next call.
    await bob.fill('#note', 'incident 42: token leaked');
    await bob.check('input[name="confirm"]');
    await bob.getByRole('button', { name: 'Revoke' }).click();
    await bob.waitForURL(/done=revoked/);
    expect(await bob.locator('[role="status"]').textContent()).toContain('Revoked');
    // An admin's revoke of a live session revokes its owner too (session.admin_revoke):
    // the proxy refuses her token (401, principal_revoked) and nothing reaches the upstream.
    const refused = await alice.callTool({ name: 'fs_read', arguments: { path: '/srv/data/b.txt' } }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; message: string },
    );
    expect(refused).toMatchObject({ code: 401 });
    expect(refused?.message).toContain('principal_revoked');
    expect(tap.counts()['tools/call:fs_read']).toBe(1);
    await alice.close().catch(() => undefined);
  });

  it('shows the revocation in the session’s timeline, made by the console user, with the note', async () => {
    await bob.getByRole('link', { name: /Timeline of this/ }).click();
    await bob.waitForURL(/\/timeline\?session=/);
    const revoked = bob.locator('tbody tr', { hasText: 'session.revoked' });
    expect(await revoked.count()).toBe(1);
    expect(await revoked.textContent()).toContain('console:bob');
    await revoked.locator('summary').click();
    expect(await revoked.locator('pre').textContent()).toContain('incident 42: token leaked');
    expect(await bob.locator('tbody tr', { hasText: 'session.created' }).count()).toBe(1);
    await screenshot(bob, 'timeline');
  });

  it('lets an approver decide a parked call from the queue, and answers who could call fs_delete', async () => {
    const dave = await connect('dave');
    const parked = await refusal(dave.callTool({ name: 'fs_delete', arguments: { path: '/srv/data/x' } }));
    expect((parked.data as { reasons: { code: string }[] }).reasons.map((r) => r.code)).toContain('approval_required');
    expect(tap.counts()['tools/call:fs_delete']).toBeUndefined();

    await bob.goto(`${consoleUrl}/approvals`);
    const row = bob.locator('tbody tr', { hasText: 'fs_delete' });
    expect(await row.textContent()).toContain('dave');
    await screenshot(bob, 'approvals');
    await row.getByRole('link', { name: /Decide/ }).click();
    // The approval page signs the approver in again, for the call's server.
    await loginAt(bob, 'bob');
    await bob.waitForURL(`${base}/approvals/mwa_*`);
    await bob.getByRole('button', { name: 'Grant' }).click();
    await bob.waitForURL(/\/decision$/);
    expect(await bob.locator('h1').textContent()).toContain('granted');

    const done = await dave.callTool({ name: 'fs_delete', arguments: { path: '/srv/data/x' } });
    expect(done.content).toEqual([{ type: 'text', text: 'deleted /srv/data/x' }]);
    expect(tap.counts()['tools/call:fs_delete']).toBe(1);
    await dave.close();

    await bob.goto(`${consoleUrl}/access`);
    await bob.fill('#a-server', SERVER);
    await bob.fill('#a-tool', 'fs_delete');
    await bob.getByRole('button', { name: 'Answer' }).click();
    await bob.waitForURL(/tool=fs_delete/);
    const daveRow = bob.locator('tbody tr', { hasText: 'dave' });
    expect(await daveRow.count()).toBe(1);
    expect(await daveRow.locator('td').nth(2).textContent()).toBe('yes');
    expect(await daveRow.locator('td').nth(3).textContent()).toBe('1');
    expect(await bob.locator('tbody tr', { hasText: 'alice' }).count()).toBe(0);
    await screenshot(bob, 'access');
    const csv = await bob.request.get(
      await bob
        .getByRole('link', { name: 'Export CSV' })
        .getAttribute('href')
        .then((h) => `${base}${h}`),
    );
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toContain('text/csv');
    expect(await csv.text()).toContain('dave');
  });

  it('shows the overview: policy, trail integrity and charts', async () => {
    await bob.goto(consoleUrl);
    expect(await bob.locator('#policy-h').count()).toBe(1);
    expect(await bob.locator('section', { hasText: 'Audit trail' }).textContent()).toContain('mcp-warden audit verify');
    expect(await bob.locator('svg[role="img"]').count()).toBeGreaterThanOrEqual(2);
    await screenshot(bob, 'overview');
  });

  it('refuses a change without the form’s CSRF token, and one from another origin', async () => {
    const target = `${consoleUrl}/principals/revoke`;
    const form = { subject: 'dave', note: 'forged', confirm: 'yes' };
    const missing = await bob.request.post(target, { form });
    expect(missing.status()).toBe(403);
    expect(await missing.text()).toContain('csrf_invalid');
    const wrong = await bob.request.post(target, { form: { ...form, csrf: 'x'.repeat(43) } });
    expect(wrong.status()).toBe(403);
    const elsewhere = await bob.request.post(target, {
      form: { ...form, csrf: await csrfOf(bob) },
      headers: { origin: 'http://evil.example' },
    });
    expect(elsewhere.status()).toBe(403);
    // dave is not revoked: his next call still goes through.
    const dave = await connect('dave');
    await dave.callTool({ name: 'fs_read', arguments: { path: '/srv/data/y' } });
    await dave.close();
  });

  it('marks a session reviewed from its page, recorded as session.reviewed by the console user', async () => {
    const erin = await connect('erin');
    await erin.callTool({ name: 'fs_read', arguments: { path: '/srv/data/e' } });
    await bob.goto(`${consoleUrl}/state?subject=erin`);
    await bob.locator('tbody tr').first().getByRole('link', { name: /Open/ }).click();
    await bob.fill('#review-note', 'nightly export job, expected');
    await bob.getByRole('button', { name: 'Mark reviewed' }).click();
    await bob.waitForURL(/done=reviewed/);
    expect(await bob.locator('[role="status"]').textContent()).toContain('Marked reviewed');
    await bob.getByRole('link', { name: /Timeline of this/ }).click();
    const reviewed = bob.locator('tbody tr', { hasText: 'session.reviewed' });
    expect(await reviewed.count()).toBe(1);
    expect(await reviewed.textContent()).toContain('console:bob');
    await reviewed.locator('summary').click();
    expect(await reviewed.locator('pre').textContent()).toContain('nightly export job, expected');
    // A review changes nothing: erin's session goes on.
    await erin.callTool({ name: 'fs_read', arguments: { path: '/srv/data/f' } });
    await erin.close();
  });

  it('runs no script: a strict CSP, and a hostile name shown as text', async () => {
    const hostile = '<img src=x onerror="document.title=\'pwned\'">';
    const client = await connect(hostile);
    await client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/z' } });
    const res = await bob.goto(`${consoleUrl}/state`);
    const csp = res!.headers()['content-security-policy']!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(await bob.locator('script').count()).toBe(0);
    expect(await bob.getByRole('table', { name: 'Bound state' }).locator('tbody').textContent()).toContain(hostile);
    expect(await bob.locator('tbody img').count()).toBe(0);
    expect(await bob.title()).not.toContain('pwned');
    await client.close();
  });

  it('lets a viewer look but not revoke', async () => {
    const carol = await signedIn('carol');
    expect(await carol.locator('header .who').textContent()).toContain('viewer');
    expect(await carol.getByRole('link', { name: 'Approvals' }).count()).toBe(0);
    expect(await carol.getByRole('button', { name: 'Revoke principal' }).count()).toBe(0);
    await carol.goto(`${consoleUrl}/state/${aliceSession}`);
    expect(await carol.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    const forged = await carol.request.post(`${consoleUrl}/principals/revoke`, {
      form: { subject: 'dave', note: 'viewer tries', confirm: 'yes', csrf: await csrfOf(carol) },
    });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('console_role_missing');
    const queue = await carol.request.get(`${consoleUrl}/approvals`);
    expect(queue.status()).toBe(403);
    await carol.context().close();
  });

  it('sends a browser without a sign-in to sign in, and refuses its posts', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${consoleUrl}/timeline`);
    expect(page.url().startsWith(as.issuer)).toBe(true);
    const post = await context.request.post(`${consoleUrl}/principals/revoke`, { form: { subject: 'dave' } });
    expect(post.status()).toBe(403);
    await context.close();
  });
});
