import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { lineChart, NO_DATA, PALETTE, stackedBars, yScale } from '../../../src/server/console/charts.ts';
import { launchChromium } from '../../helpers/browser.ts';

const BUCKETS = Array.from({ length: 24 }, (_, i) => `${String(i).padStart(2, '0')}:00`);
const ramp = (f: (i: number) => number) => BUCKETS.map((_, i) => f(i));
const outcome = () =>
  stackedBars({
    title: 'Decisions per hour',
    buckets: BUCKETS,
    series: [
      { label: 'allow', values: ramp((i) => i % 5) },
      { label: 'deny', values: ramp((i) => (i === 7 ? 4 : 0)) },
    ],
    colors: ['#0b6e2e', '#a4161a'],
  }).value;
const line = () =>
  lineChart({ title: 'Bound state alive', buckets: BUCKETS, values: ramp((i) => i), label: 'alive' }).value;

/** What no chart may hold: a style attribute or element (the CSP refuses them), a script, a NaN. */
function expectInert(markup: string): void {
  expect(markup).not.toMatch(/\sstyle\s*=/i);
  expect(markup).not.toMatch(/<style/i);
  expect(markup).not.toMatch(/<script/i);
  expect(markup).not.toMatch(/<[^>]*\son[a-z]+\s*=/i); // an event handler attribute in a tag
  expect(markup).not.toContain('NaN');
  expect(markup).not.toContain('Infinity');
  expect(markup).not.toContain('undefined');
}

describe('yScale', () => {
  const cases = [
    { note: 'one', max: 1, want: { top: 1, step: 1 } },
    { note: 'small counts keep a step of 1', max: 3, want: { top: 3, step: 1 } },
    { note: 'four', max: 4, want: { top: 4, step: 1 } },
    { note: 'seven', max: 7, want: { top: 8, step: 2 } },
    { note: 'a round number is its own top', max: 100, want: { top: 100, step: 50 } },
    { note: 'just above a round number', max: 101, want: { top: 150, step: 50 } },
    { note: 'thousands', max: 1234, want: { top: 1500, step: 500 } },
  ];
  it.each(cases)('$note', ({ max, want }) => {
    expect(yScale(max)).toEqual(want);
    expect(want.top / want.step).toBeLessThanOrEqual(4);
  });
});

describe('stackedBars', () => {
  it('is a figure with a caption, an svg role=img labelled by its title and described by a summary', () => {
    const markup = outcome();
    expect(markup).toMatch(/^<figure>\s*<figcaption>Decisions per hour<\/figcaption>/);
    const svg = markup.match(/<svg role="img" aria-labelledby="([^"]+)" aria-describedby="([^"]+)"/);
    expect(svg).not.toBeNull();
    expect(markup).toContain(`<title id="${svg![1]}">Decisions per hour</title>`);
    // allow: 0..4 repeated (24 buckets: 4 full runs of 10, and 0+1+2+3 = 6), deny: 4 at 07:00.
    expect(markup).toContain(
      `<desc id="${svg![2]}">50 in total over 24 periods (00:00 to 23:00): allow 46, deny 4; ` +
        'the most, 6, at 07:00.</desc>',
    );
    expect(markup).toContain('viewBox="0 0 640 200"');
    expectInert(markup);
  });

  it('draws a segment per non-zero value in its colour, the tallest column to the top of the axis', () => {
    const markup = outcome();
    const rects = [...markup.matchAll(/<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)" fill="([^"]+)"/g)];
    expect(rects).toHaveLength(19 + 1); // 19 non-zero allow values, 1 deny
    expect(rects.filter((r) => r[3] === '#a4161a')).toHaveLength(1);
    // The tallest column, 6 (07:00: allow 2 + deny 4), is a whole number of steps of 2: the
    // axis tops at 6 and the column reaches the plot's top edge (y = 12).
    expect(Math.min(...rects.map((r) => Number(r[1])))).toBe(12);
    expect(rects.every((r) => Number(r[2]) > 0)).toBe(true);
  });

  it('labels the y axis with a few ticks and the x axis every few buckets', () => {
    const markup = outcome();
    const ticks = [...markup.matchAll(/text-anchor="end" fill="[^"]+">([^<]+)</g)].map((m) => m[1]);
    expect(ticks).toEqual(['0', '2', '4', '6']);
    const xLabels = [...markup.matchAll(/text-anchor="middle"\s+fill="[^"]+">([^<]+)</g)].map((m) => m[1]);
    expect(xLabels).toEqual(['00:00', '03:00', '06:00', '09:00', '12:00', '15:00', '18:00', '21:00']);
  });

  it('has a legend with totals and a data table with every number', () => {
    const markup = outcome();
    expect(markup).toContain('&#160;allow (46)</span>');
    expect(markup).toContain('&#160;deny (4)</span>');
    expect(markup).toContain('<details><summary>Data</summary><table>');
    expect(markup).toContain(
      '<tr><th scope="col">Time</th><th scope="col">allow</th><th scope="col">deny</th><th scope="col">Total</th></tr>',
    );
    expect(markup).toContain('<tr><th scope="row">07:00</th><td>2</td><td>4</td><td>6</td></tr>');
    expect(markup.match(/<tr><th scope="row">/g)).toHaveLength(24);
  });

  it('escapes every label, which comes from audit data', () => {
    const evil = '<script>alert(1)</script>';
    const markup = stackedBars({
      title: `Reasons ${evil}`,
      buckets: ['"><img src=x onerror=alert(1)>', '01:00'],
      series: [
        { label: evil, values: [1, 2] },
        { label: "it's & <b>", values: [0, 1] },
      ],
    }).value;
    expectInert(markup);
    expect(markup).not.toContain('<img');
    expect(markup).not.toContain('<b>');
    expect(markup).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(markup).toContain('it&#39;s &amp; &lt;b&gt;');
    expect(markup).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  });

  it('uses the palette by default', () => {
    const markup = stackedBars({
      title: 't',
      buckets: ['a'],
      series: PALETTE.map((_, k) => ({ label: `s${k}`, values: [1] })),
    }).value;
    for (const colour of PALETTE) expect(markup).toContain(`fill="${colour}"`);
  });

  it('says there is no data, with no plot, when every value is zero or there are no buckets', () => {
    for (const markup of [
      stackedBars({ title: 'Denials', buckets: BUCKETS, series: [{ label: 'x', values: ramp(() => 0) }] }).value,
      stackedBars({ title: 'Denials', buckets: BUCKETS, series: [] }).value,
      stackedBars({ title: 'Denials', buckets: [], series: [{ label: 'x', values: [3] }] }).value,
    ]) {
      expect(markup).toBe(`<figure><figcaption>Denials</figcaption><p>${NO_DATA}</p></figure>`);
    }
  });

  it('draws bad values (NaN, negative, missing) as zero', () => {
    const markup = stackedBars({
      title: 't',
      buckets: ['a', 'b', 'c', 'd'],
      series: [{ label: 'x', values: [Number.NaN, -3, 2] }],
    }).value;
    expectInert(markup);
    expect(markup).toContain('<tr><th scope="row">a</th><td>0</td></tr>');
    expect(markup).toContain('<tr><th scope="row">d</th><td>0</td></tr>');
  });

  it('renders the same markup for the same data (no counter in the ids)', () => {
    expect(outcome()).toBe(outcome());
  });

  it('refuses an empty colour list', () => {
    expect(() => stackedBars({ title: 't', buckets: ['a'], series: [], colors: [] })).toThrow(TypeError);
  });
});

describe('lineChart', () => {
  it('is an accessible svg with a line, a dot per value and a table', () => {
    const markup = line();
    expect(markup).toMatch(/<svg role="img" aria-labelledby="[^"]+" aria-describedby="[^"]+"/);
    expect(markup).toMatch(/<title id="[^"]+">Bound state alive<\/title>/);
    expect(markup).toContain('>From 0 at 00:00 to 23 at 23:00; the most, 23, at 23:00.</desc>');
    expect(markup.match(/<polyline points="[^"]+"/)![0].split(' ')).toHaveLength(24 + 1);
    expect(markup.match(/<circle /g)).toHaveLength(24);
    expect(markup).toContain('<tr><th scope="col">Time</th><th scope="col">alive</th></tr>');
    expect(markup).toContain('<tr><th scope="row">23:00</th><td>23</td></tr>');
    expectInert(markup);
  });

  it('gives the line and the bars different ids', () => {
    const id = (markup: string) => markup.match(/aria-labelledby="([^"]+)"/)![1];
    expect(id(line())).not.toBe(id(outcome()));
  });

  it('says there is no data when every value is zero', () => {
    const markup = lineChart({ title: 'Alive <now>', buckets: BUCKETS, values: ramp(() => 0) }).value;
    expect(markup).toBe(`<figure><figcaption>Alive &lt;now&gt;</figcaption><p>${NO_DATA}</p></figure>`);
  });

  it('escapes its title and buckets', () => {
    const markup = lineChart({ title: '<script>x</script>', buckets: ['<i>', 'b'], values: [1, 2] }).value;
    expectInert(markup);
    expect(markup).not.toContain('<i>');
  });
});

describe('in Chromium, under the console CSP', () => {
  it('draws both charts with no CSP violation and no script', async () => {
    const body = `<!doctype html><html lang="en"><title>charts</title><main>${outcome()}${line()}</main></html>`;
    const server = createServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'",
      });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const messages: string[] = [];
      page.on('console', (message) => messages.push(message.text()));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(await page.locator('svg[role="img"]').count()).toBe(2);
      const box = await page.locator('svg[role="img"]').first().boundingBox();
      expect(box?.width).toBe(640);
      expect(await page.getByRole('img', { name: 'Decisions per hour' }).count()).toBe(1);
      await page.click('summary');
      expect(await page.locator('details table tbody tr').first().isVisible()).toBe(true);
      expect(messages.filter((m) => m.includes('Content Security Policy'))).toEqual([]);
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
