// The console's live-state page with 10,000 live sessions: its weight, and how long until
// Chromium first paints it, against a reference in the same run.
//
//   node bench/console.ts [--sessions N] [--rounds R]
//
// A real authorization server (oidc-provider) issues the tokens; the service runs as it
// ships (createService, memory session store, file audit trail) with the console on. N
// live sessions (default 10,000) of 10 subjects are created through POST /v1/sessions,
// bob signs in to the console in Debian's Chromium (playwright-core), then R rounds
// (default 15) alternate, each a fresh navigation:
//   (A) the same HTML as (B), served as a static file by node:http (the reference: what the
//       browser alone costs for that page);
//   (B) /console/state, the first 50 of the N live records;
//   (C) /console/state?page=<last>, the last page (the store is scanned further).
// For each: the bytes of the HTML (uncompressed; the page loads nothing else), the time to
// the response's first byte and to first contentful paint (Navigation and Paint Timing,
// read over CDP: the page itself runs no script). Medians, and B and C as ratios of A.
// Prints the load average before and after; a figure taken on a busy machine is no figure.
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { loadConfig } from '../src/config/load.ts';
import { createService } from '../src/service.ts';
import { launchChromium } from '../test/helpers/browser.ts';
import { startAuthorizationServer } from '../test/helpers/oidc-provider.ts';
import { freePort } from '../test/helpers/sdk-server.ts';
import { median } from './lib/stats.ts';

const { values } = parseArgs({ options: { sessions: { type: 'string' }, rounds: { type: 'string' } } });
const SESSIONS = Number(values.sessions ?? 10_000);
const ROUNDS = Number(values.rounds ?? 15);
const PAGE_SIZE = 50;
const SERVER = 'https://mcp.example.com/files';
const loads = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

console.log(`load average before: ${loads()} (${cpus().length} cores, node ${process.version})`);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const consoleUrl = `${base}/console`;
const as = await startAuthorizationServer({
  clients: [
    { client_id: 'agent-app', redirect_uris: ['http://127.0.0.1:1/callback'] },
    { client_id: 'warden-console', redirect_uris: [`${consoleUrl}/callback`] },
  ],
  resources: [SERVER, consoleUrl],
  roles: { bob: ['admin'], ...Object.fromEntries([...Array(10).keys()].map((i) => [`user${i}`, ['writer']])) },
});
const pepKey = randomBytes(24).toString('base64url');
const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-bench-console-'));
const service = await createService(
  loadConfig({
    env: {},
    overrides: {
      server: { port },
      identity: { issuers: [{ issuer: as.issuer, discovery: true }], servers: [SERVER, consoleUrl] },
      callers: { api_keys: [{ id: 'gw', sha256: sha256(pepKey), role: 'pep' }] },
      session: { max_per_principal: SESSIONS },
      audit: { file: join(dir, 'audit.jsonl'), checkpoint_key_file: join(dir, 'checkpoint.jwk') },
      console: {
        url: consoleUrl,
        sign_in: { issuer: as.issuer, client_id: 'warden-console', scopes: ['openid'] },
        roles: { viewer: [], responder: ['admin'], approver: [] },
      },
    },
  }),
);
await service.listen({ host: '127.0.0.1', port });

const tokens = await Promise.all(
  [...Array(10).keys()].map((i) =>
    as.signIn({ user: `user${i}`, clientId: 'agent-app', resource: SERVER, scope: 'openid mcp:read' }),
  ),
);
const createdAt = performance.now();
for (let i = 0; i < SESSIONS; i++) {
  const res = await service.inject({
    method: 'POST',
    url: '/v1/sessions',
    headers: { authorization: `Bearer ${pepKey}` },
    payload: { token: tokens[i % tokens.length], server: SERVER, tools: ['fs_read'] },
  });
  if (res.statusCode !== 201) throw new Error(`session ${i}: ${res.statusCode} ${res.body}`);
}
console.log(`${SESSIONS} live sessions created in ${((performance.now() - createdAt) / 1000).toFixed(1)} s`);

const browser = await launchChromium();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
await page.goto(`${consoleUrl}/state`);
await page.waitForURL((url) => url.href.startsWith(as.issuer));
await page.fill('input[name="login"]', 'bob');
await page.fill('input[name="password"]', 'any');
await page.click('button[type="submit"]');
await page.waitForURL(`${consoleUrl}/callback**`);
await page.click('#continue');
await page.waitForURL(`${consoleUrl}/state`);

const lastPage = Math.ceil(SESSIONS / PAGE_SIZE) - 1;
const first = await (await page.goto(`${consoleUrl}/state`))!.text();
if (!first.includes(`Records 1–${PAGE_SIZE}`)) throw new Error('the sessions page does not list the first 50');
const staticServer = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(first);
});
await new Promise<void>((resolve) => staticServer.listen(0, '127.0.0.1', resolve));
const staticUrl = `http://127.0.0.1:${(staticServer.address() as AddressInfo).port}/state.html`;

interface Sample {
  readonly bytes: number;
  readonly ttfb: number;
  readonly fcp: number;
}
const TIMING = `new Promise((resolve) => {
  const nav = performance.getEntriesByType('navigation')[0];
  const ttfb = nav.responseStart - nav.startTime;
  new PerformanceObserver((list) => {
    const paint = list.getEntriesByName('first-contentful-paint')[0];
    if (paint !== undefined) resolve({ ttfb, fcp: paint.startTime });
  }).observe({ type: 'paint', buffered: true });
  setTimeout(() => resolve({ ttfb, fcp: Number.NaN }), 5000);
})`;
async function measure(p: Page, url: string): Promise<Sample> {
  const res = await p.goto(url, { waitUntil: 'load' });
  const bytes = (await res!.body()).length;
  if (res!.status() !== 200) throw new Error(`${url}: ${res!.status()}`);
  // The paint may come after the load event: wait for it (buffered), at most 5 s. A string,
  // run in the page's realm over CDP (the console's CSP runs no page script).
  const timing = (await p.evaluate(TIMING)) as { ttfb: number; fcp: number };
  return { bytes, ...timing };
}

const variants = {
  A: { label: '(A) the same HTML, static (reference)', url: staticUrl },
  B: { label: `(B) /console/state, records 1–${PAGE_SIZE} of ${SESSIONS}`, url: `${consoleUrl}/state` },
  C: { label: `(C) /console/state?page=${lastPage}, the last page`, url: `${consoleUrl}/state?page=${lastPage}` },
} as const;
type Variant = keyof typeof variants;
const samples: Record<Variant, Sample[]> = { A: [], B: [], C: [] };
for (const v of Object.keys(variants) as Variant[]) await measure(page, variants[v].url); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const v of Object.keys(variants) as Variant[]) samples[v].push(await measure(page, variants[v].url));
}
const summary = Object.fromEntries(
  (Object.keys(variants) as Variant[]).map((v) => [
    v,
    {
      bytes: median(samples[v].map((s) => s.bytes)),
      ttfb: median(samples[v].map((s) => s.ttfb)),
      fcp: median(samples[v].map((s) => s.fcp)),
    },
  ]),
) as Record<Variant, Sample>;

console.log(`\n${ROUNDS} rounds, medians:\n`);
console.log('| page | HTML bytes | first byte (ms) | first contentful paint (ms) | paint / A |');
console.log('|---|---:|---:|---:|---:|');
for (const v of Object.keys(variants) as Variant[]) {
  const s = summary[v];
  const ratio = (s.fcp / summary.A.fcp).toFixed(2);
  console.log(`| ${variants[v].label} | ${s.bytes} | ${s.ttfb.toFixed(1)} | ${s.fcp.toFixed(1)} | ${ratio}× |`);
}
await browser.close();
await service.close();
staticServer.close();
await as.stop();
console.log(`\nload average after: ${loads()}`);
