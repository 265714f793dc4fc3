import { createHash } from 'node:crypto';
import { type Html, html } from '../web/html.ts';
import type { Series } from './series.ts';

export type { Series } from './series.ts';

/**
 * Charts as inline SVG, drawn on the server: the console's CSP (`default-src 'none'`, its
 * one style block allowed by hash) runs no script and applies no `style` attribute, so
 * every look is a presentation attribute (fill, stroke, x, y, …). Each chart is a
 * `<figure>` whose SVG has a title and a text summary for screen readers, and whose
 * numbers are in a table under `<details>`: the table is the accessible fallback, and the
 * way to read exact values. Every label is escaped by the `html` tag: they come from audit
 * data (reason codes), which a caller can influence.
 */
const WIDTH = 640;
const HEIGHT = 200;
const PAD = { left: 44, right: 8, top: 12, bottom: 26 };
const PLOT_W = WIDTH - PAD.left - PAD.right;
const PLOT_H = HEIGHT - PAD.top - PAD.bottom;
/** The most x labels drawn; past that, every few buckets only. */
const MAX_X_LABELS = 8;
/** Colours for allow and deny, the console's own (its buttons and status texts). */
export const OUTCOME_COLORS: readonly string[] = ['#0b6e2e', '#a4161a'];
/** The series colours, in order: each at least 5.9:1 on white (WCAG asks 3:1 of graphics). */
export const PALETTE: readonly string[] = ['#1a4fa0', '#a4161a', '#8a5a00', '#5b2a86', '#0b6e6e', '#4d4d4d'];
const LINE_COLOR = '#1a4fa0';
const TEXT_COLOR = '#333333';
const GRID_COLOR = '#d8dce4';
const AXIS_COLOR = '#555555';
export const NO_DATA = 'No data in this period.';

/** Coordinates to two decimals: the same picture, a shorter page. */
const fmt = (n: number) => Math.round(n * 100) / 100;
/** A count as drawn: negative, NaN and infinite values (a bug upstream) are drawn as 0. */
const clean = (v: number | undefined) => (v !== undefined && Number.isFinite(v) && v > 0 ? v : 0);
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/**
 * The y axis for values up to `max`: a step of 1, 2 or 5 times a power of ten giving at
 * most five ticks, never below 1 (the values are counts), and the top a whole number of steps.
 */
export function yScale(max: number): { top: number; step: number } {
  const raw = max / 4;
  let step = 1;
  if (raw > 1) {
    const power = 10 ** Math.floor(Math.log10(raw));
    step = [1, 2, 5, 10].map((m) => m * power).find((v) => v >= raw)!;
  }
  return { top: Math.max(step, Math.ceil(max / step) * step), step };
}

function ids(kind: string, title: string, labels: readonly string[]) {
  // Derived from the content, not a counter: the same page renders the same markup.
  const id = `chart-${createHash('sha256')
    .update(JSON.stringify([kind, title, labels]))
    .digest('hex')
    .slice(0, 10)}`;
  return { title: `${id}-title`, desc: `${id}-desc` };
}

function empty(title: string): Html {
  return html`<figure><figcaption>${title}</figcaption><p>${NO_DATA}</p></figure>`;
}

function frame(options: { id: { title: string; desc: string }; title: string; desc: string; plot: Html }): Html {
  const { id, title, desc, plot } = options;
  return html`<svg role="img" aria-labelledby="${id.title}" aria-describedby="${id.desc}" \
viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-size="11">
<title id="${id.title}">${title}</title><desc id="${id.desc}">${desc}</desc>
${plot}
</svg>`;
}

const yOf = (value: number, top: number) => fmt(PAD.top + PLOT_H - (value / top) * PLOT_H);

function axes(buckets: readonly string[], scale: { top: number; step: number }): Html {
  const ticks: Html[] = [];
  for (let v = 0; v <= scale.top; v += scale.step) {
    const y = yOf(v, scale.top);
    ticks.push(html`<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y}" y2="${y}" \
stroke="${v === 0 ? AXIS_COLOR : GRID_COLOR}" stroke-width="1"/>
<text x="${PAD.left - 6}" y="${fmt(y + 4)}" text-anchor="end" fill="${TEXT_COLOR}">${v}</text>`);
  }
  const every = Math.max(1, Math.ceil(buckets.length / MAX_X_LABELS));
  const w = PLOT_W / buckets.length;
  const labels = buckets.map((label, i) =>
    i % every === 0
      ? html`<text x="${fmt(PAD.left + i * w + w / 2)}" y="${HEIGHT - 8}" text-anchor="middle" \
fill="${TEXT_COLOR}">${label}</text>`
      : '',
  );
  return html`<g aria-hidden="true">${ticks}${labels}</g>`;
}

function dataTable(buckets: readonly string[], series: readonly Series[]): Html {
  const totals = series.length > 1;
  const head = html`<tr><th scope="col">Time</th>${series.map((s) => html`<th scope="col">${s.label}</th>`)}${
    totals ? html`<th scope="col">Total</th>` : ''
  }</tr>`;
  const rows = buckets.map((bucket, i) => {
    const cells = series.map((s) => clean(s.values[i]));
    return html`<tr><th scope="row">${bucket}</th>${cells.map((v) => html`<td>${v}</td>`)}${
      totals ? html`<td>${sum(cells)}</td>` : ''
    }</tr>`;
  });
  return html`<details><summary>Data</summary><table><thead>${head}</thead><tbody>${rows}</tbody></table></details>`;
}

/** A swatch and a label per series; a no-break space keeps each swatch by its label. */
function legend(series: readonly Series[], colors: readonly string[], totals: readonly number[]): Html {
  const items = series.map(
    (s, k) => html`<span><svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">\
<rect width="12" height="12" fill="${colors[k % colors.length]}"/></svg>&#160;${s.label} (${totals[k]})</span> `,
  );
  return html`<p>${items}</p>`;
}

/**
 * Bars per bucket, one segment per series, stacked bottom up in the order given;
 * `colors` (default {@link PALETTE}) are taken in order, cycling. All zero, or no buckets:
 * the caption and "No data in this period." instead of an empty plot.
 */
export function stackedBars(options: {
  readonly title: string;
  readonly buckets: readonly string[];
  readonly series: readonly Series[];
  readonly colors?: readonly string[];
}): Html {
  const { title, buckets, series } = options;
  const colors = options.colors ?? PALETTE;
  if (colors.length === 0) throw new TypeError('stackedBars needs at least one colour');
  const columns = buckets.map((_, i) => sum(series.map((s) => clean(s.values[i]))));
  const all = sum(columns);
  if (buckets.length === 0 || all === 0) return empty(title);
  const scale = yScale(Math.max(...columns));
  const w = PLOT_W / buckets.length;
  const bars = buckets.map((bucket, i) => {
    let base = 0;
    return series.map((s, k) => {
      const value = clean(s.values[i]);
      if (value === 0) return '';
      const y = yOf(base + value, scale.top);
      const height = fmt(yOf(base, scale.top) - y);
      base += value;
      // A white edge between segments, so that neighbouring colours never merge.
      return html`<rect x="${fmt(PAD.left + i * w + 1)}" y="${y}" width="${fmt(Math.max(1, w - 2))}" \
height="${height}" fill="${colors[k % colors.length]}" stroke="#ffffff" stroke-width="0.5">\
<title>${bucket}, ${s.label}: ${value}</title></rect>`;
    });
  });
  const totals = series.map((s) => sum(buckets.map((_, i) => clean(s.values[i]))));
  const peak = columns.indexOf(Math.max(...columns));
  const desc =
    `${all} in total over ${buckets.length} periods (${buckets[0]} to ${buckets.at(-1)}): ` +
    `${series.map((s, k) => `${s.label} ${totals[k]}`).join(', ')}; the most, ${columns[peak]}, at ${buckets[peak]}.`;
  const id = ids(
    'bars',
    title,
    series.map((s) => s.label),
  );
  return html`<figure>
<figcaption>${title}</figcaption>
${frame({ id, title, desc, plot: html`${axes(buckets, scale)}<g>${bars}</g>` })}
${legend(series, colors, totals)}
${dataTable(buckets, series)}
</figure>`;
}

/**
 * One line over the buckets, a dot per value; `label` (default `Value`) heads the data
 * table's column. All zero, or no buckets: the caption and "No data in this period.".
 */
export function lineChart(options: {
  readonly title: string;
  readonly buckets: readonly string[];
  readonly values: readonly number[];
  readonly label?: string;
}): Html {
  const { title, buckets } = options;
  const values = buckets.map((_, i) => clean(options.values[i]));
  if (buckets.length === 0 || values.every((v) => v === 0)) return empty(title);
  const max = Math.max(...values);
  const scale = yScale(max);
  const w = PLOT_W / buckets.length;
  const points = values.map((v, i) => ({ x: fmt(PAD.left + i * w + w / 2), y: yOf(v, scale.top), v, i }));
  const line = html`<polyline points="${points.map((p) => `${p.x},${p.y}`).join(' ')}" fill="none" \
stroke="${LINE_COLOR}" stroke-width="2" stroke-linejoin="round"/>`;
  const dots = points.map(
    (p) => html`<circle cx="${p.x}" cy="${p.y}" r="2.5" fill="${LINE_COLOR}">\
<title>${buckets[p.i]}: ${p.v}</title></circle>`,
  );
  const desc =
    `From ${values[0]} at ${buckets[0]} to ${values.at(-1)} at ${buckets.at(-1)}; ` +
    `the most, ${max}, at ${buckets[values.indexOf(max)]}.`;
  const id = ids('line', title, [options.label ?? 'Value']);
  return html`<figure>
<figcaption>${title}</figcaption>
${frame({ id, title, desc, plot: html`${axes(buckets, scale)}${line}${dots}` })}
${dataTable(buckets, [{ label: options.label ?? 'Value', values }])}
</figure>`;
}
