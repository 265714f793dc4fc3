import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/server/web/html.ts';
import { launchChromium } from './browser.ts';

// The browser helper against a page of its own, before the console's e2e test leans on it:
// Debian's Chromium starts headless, a click runs the page's script, a form submits, and a
// CSP of `script-src 'none'` is enforced (the console's pages rely on that to run no script).
const PAGES: Record<string, { csp?: string; body: string }> = {
  '/': {
    body: `<p id="count">0</p><button id="more" type="button">More</button>
<form action="/echo" method="get"><label for="q">Q</label><input id="q" name="q"><button>Send</button></form>
<script>document.getElementById('more').addEventListener('click', () => {
  const p = document.getElementById('count'); p.textContent = String(Number(p.textContent) + 1);
});</script>`,
  },
  '/csp': {
    csp: "script-src 'none'",
    body: `<p id="marker">untouched</p><script>document.getElementById('marker').textContent = 'ran';</script>`,
  },
  '/no-csp': {
    body: `<p id="marker">untouched</p><script>document.getElementById('marker').textContent = 'ran';</script>`,
  },
};

let server: Server;
let base: string;
let browser: Browser;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const page =
      url.pathname === '/echo'
        ? { body: `<p id="echo">${escapeHtml(url.searchParams.get('q') ?? '')}</p>` }
        : PAGES[url.pathname];
    if (page === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      ...(page.csp === undefined ? {} : { 'content-security-policy': page.csp }),
    });
    res.end(`<!doctype html><html lang="en"><title>t</title>${page.body}</html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

describe('launchChromium', () => {
  it('fails, and says how to install it, when there is no Chromium', async () => {
    const saved = process.env.CHROMIUM_PATH;
    process.env.CHROMIUM_PATH = '/nonexistent/chromium';
    try {
      await expect(launchChromium()).rejects.toThrow(
        'no executable Chromium at /nonexistent/chromium: run `bash scripts/setup.sh`',
      );
    } finally {
      if (saved === undefined) delete process.env.CHROMIUM_PATH;
      else process.env.CHROMIUM_PATH = saved;
    }
  });

  it('clicks a button and submits a form in a real page', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.click('#more');
    await page.click('#more');
    expect(await page.textContent('#count')).toBe('2');
    await page.fill('#q', '<b>hi</b>');
    await Promise.all([page.waitForURL(/\/echo\?/), page.click('form button')]);
    expect(await page.textContent('#echo')).toBe('<b>hi</b>');
    await page.close();
  });

  it("runs no inline script under script-src 'none', and reports the violation", async () => {
    const page = await browser.newPage();
    const messages: string[] = [];
    page.on('console', (message) => messages.push(message.text()));
    await page.goto(`${base}/csp`);
    expect(await page.textContent('#marker')).toBe('untouched');
    expect(messages.some((m) => m.includes('Content Security Policy'))).toBe(true);
    // The control: the same page without the header runs its script.
    await page.goto(`${base}/no-csp`);
    expect(await page.textContent('#marker')).toBe('ran');
    await page.close();
  });
});
