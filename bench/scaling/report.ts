// Formatting for bench/scaling.ts: numbers, percentiles, Markdown tables, mermaid charts.

export const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
export const n1 = (x: number): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
export const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
export const times = (x: number): string => `${x.toFixed(2)}×`;
export const round = (x: number, digits = 0): number => Math.round(x * 10 ** digits) / 10 ** digits;
export const MB = 1024 * 1024;

/** Nearest-rank percentile (q in 0…1) of a list; the list is sorted in place. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))]!;
}

/** A Markdown table; the first column is left-aligned, the others right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/**
 * A mermaid `xychart-beta` bar chart (GitHub renders it in Markdown). xychart has no
 * legend, so each bar carries its own label.
 */
export function barChart(title: string, yLabel: string, bars: readonly { label: string; value: number }[]): string {
  const max = Math.max(...bars.map((b) => b.value), 0);
  const top = niceCeiling(max * 1.1);
  const digits = max < 10 ? 2 : max < 1_000 ? 1 : 0;
  return [
    '```mermaid',
    'xychart-beta',
    `    title "${title.replaceAll('"', "'")}"`,
    `    x-axis [${bars.map((b) => `"${b.label.replaceAll('"', "'")}"`).join(', ')}]`,
    `    y-axis "${yLabel.replaceAll('"', "'")}" 0 --> ${top}`,
    `    bar [${bars.map((b) => round(b.value, digits)).join(', ')}]`,
    '```',
  ].join('\n');
}

function niceCeiling(x: number): number {
  if (!(x > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * step >= x) return round(m * step, 6);
  return 10 * step;
}
