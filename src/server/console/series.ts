/**
 * A period of whole hours ending at `end` (epoch ms), for the charts: `hours` buckets
 * aligned on UTC hours, the last one the hour in progress at `end` (so the current hour's
 * bar grows until the hour turns). Nothing after `end` is counted.
 */
export interface Window {
  readonly end: number;
  readonly hours: number;
}

/** One named row of values, a value per bucket. */
export interface Series {
  readonly label: string;
  readonly values: readonly number[];
}

/** How the rest of the denials' reasons is labelled, past the top ones. */
export const OTHER_REASONS = 'other';
/** The label of a denial that carries no reason (none should, but a chart must not drop it). */
export const NO_REASON = '(none)';

const HOUR = 3_600_000;

/** The start of each hour bucket of `window`, oldest first, and its label (`HH:00`, UTC). */
export function hourBuckets(window: Window): { starts: number[]; labels: string[] } {
  if (!Number.isFinite(window.end) || !Number.isInteger(window.hours) || window.hours < 1) {
    throw new TypeError(`a window needs a finite end and a whole number of hours >= 1, not ${JSON.stringify(window)}`);
  }
  const last = Math.floor(window.end / HOUR) * HOUR;
  const starts = Array.from({ length: window.hours }, (_, i) => last - (window.hours - 1 - i) * HOUR);
  return { starts, labels: starts.map((s) => `${new Date(s).toISOString().slice(11, 13)}:00`) };
}

/** The bucket a time falls in (a time on an edge opens the later bucket), or -1 outside the window. */
function bucketOf(starts: readonly number[], end: number, at: number): number {
  if (!Number.isFinite(at) || at > end) return -1;
  const index = Math.floor((at - starts[0]!) / HOUR);
  return index >= 0 && index < starts.length ? index : -1;
}

const total = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/**
 * Decisions per hour by outcome, and denials per hour by their first reason code (the
 * one that decided): the `topReasons` most frequent codes over the window, ties by code,
 * and the rest summed as `other`. Records of other kinds, and decisions without an
 * outcome, are skipped.
 */
export function decisionSeries(
  records: Iterable<{ ts: string; kind: string; allow: boolean | null; reasons: readonly { code: string }[] }>,
  window: Window,
  topReasons = 5,
): { allow: number[]; deny: number[]; reasons: Series[] } {
  if (!Number.isInteger(topReasons) || topReasons < 0) {
    throw new TypeError(`topReasons must be a whole number >= 0, not ${topReasons}`);
  }
  const { starts } = hourBuckets(window);
  const allow = starts.map(() => 0);
  const deny = starts.map(() => 0);
  const byReason = new Map<string, number[]>();
  for (const r of records) {
    if (r.kind !== 'decision' || r.allow === null) continue;
    const i = bucketOf(starts, window.end, Date.parse(r.ts));
    if (i === -1) continue;
    if (r.allow) {
      allow[i]! += 1;
      continue;
    }
    deny[i]! += 1;
    const code = r.reasons[0]?.code ?? NO_REASON;
    const row = byReason.get(code) ?? starts.map(() => 0);
    row[i]! += 1;
    byReason.set(code, row);
  }
  const ranked = [...byReason].sort((a, b) => total(b[1]) - total(a[1]) || (a[0] < b[0] ? -1 : 1));
  const reasons: Series[] = ranked.slice(0, topReasons).map(([label, values]) => ({ label, values }));
  const rest = ranked.slice(topReasons);
  if (rest.length > 0) {
    reasons.push({ label: OTHER_REASONS, values: starts.map((_, i) => total(rest.map(([, row]) => row[i]!))) });
  }
  return { allow, deny, reasons };
}

/**
 * Records alive at the end of each bucket (for the last bucket, at `window.end`: now).
 *
 * A record is alive from `created_at` until the first of its absolute expiry, its
 * revocation and its idle expiry. The idle expiry moves with each use, but only while the
 * record is live (a touch never resurrects one, see `SessionStore.touch`): the stored value
 * is either past, and then it is when the record died, or after `window.end`, and then it
 * cuts nothing inside the window. Leaving it out would count an idle-expired session alive
 * until its absolute expiry, and the last bucket would disagree with the list of live state.
 */
export function aliveSeries(
  records: Iterable<{ created_at: number; expires_at: number; idle_expires_at: number; revoked_at: number | null }>,
  window: Window,
): number[] {
  const { starts } = hourBuckets(window);
  const ends = starts.map((s, i) => (i === starts.length - 1 ? window.end : s + HOUR));
  const counts = ends.map(() => 0);
  for (const r of records) {
    const deadAt = Math.min(r.expires_at, r.idle_expires_at, r.revoked_at ?? Number.POSITIVE_INFINITY);
    ends.forEach((t, i) => {
      if (r.created_at <= t && t < deadAt) counts[i]! += 1;
    });
  }
  return counts;
}
