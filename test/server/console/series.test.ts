import { describe, expect, it } from 'vitest';
import { aliveSeries, decisionSeries, hourBuckets, type Window } from '../../../src/server/console/series.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-04T00:00:00.000Z');
/** Four buckets, 10:00 to 13:00 UTC, the last in progress (13:30). */
const WINDOW: Window = { end: T0 + 13.5 * HOUR, hours: 4 };
const at = (hours: number) => new Date(T0 + hours * HOUR).toISOString();
const allow = (hours: number) => ({ ts: at(hours), kind: 'decision', allow: true, reasons: [] });
const deny = (hours: number, ...codes: string[]) => ({
  ts: at(hours),
  kind: 'decision',
  allow: false,
  reasons: codes.map((code) => ({ code })),
});

describe('hourBuckets', () => {
  it('ends with the hour in progress, labelled HH:00 in UTC', () => {
    const { starts, labels } = hourBuckets(WINDOW);
    expect(labels).toEqual(['10:00', '11:00', '12:00', '13:00']);
    expect(starts).toEqual([10, 11, 12, 13].map((h) => T0 + h * HOUR));
  });

  it('wraps past midnight', () => {
    expect(hourBuckets({ end: T0 + 30 * 60_000, hours: 3 }).labels).toEqual(['22:00', '23:00', '00:00']);
  });

  it('refuses a window of no whole hours', () => {
    expect(() => hourBuckets({ end: T0, hours: 0 })).toThrow(TypeError);
    expect(() => hourBuckets({ end: T0, hours: 1.5 })).toThrow(TypeError);
    expect(() => hourBuckets({ end: Number.NaN, hours: 2 })).toThrow(TypeError);
  });
});

describe('decisionSeries', () => {
  it('puts a record on a bucket edge in the later bucket, and drops what is outside the window', () => {
    const { allow: a } = decisionSeries(
      [
        allow(10), // the window's first instant: in
        allow(11 - 1 / HOUR), // the last ms of 10:00
        allow(11), // exactly on the edge: 11:00
        allow(10 - 1 / HOUR), // a ms before the window: out
        allow(13.5), // exactly at `end`: in
        allow(13.5 + 1 / HOUR), // after `end`: out
      ],
      WINDOW,
    );
    expect(a).toEqual([2, 1, 0, 1]);
  });

  it('counts allow and deny apart, and skips other kinds, undecided records and bad timestamps', () => {
    const result = decisionSeries(
      [
        allow(12),
        deny(12, 'tool_not_allowed'),
        { ts: at(12), kind: 'session.created', allow: null, reasons: [] },
        { ts: at(12), kind: 'decision', allow: null, reasons: [] },
        { ts: 'not a date', kind: 'decision', allow: true, reasons: [] },
      ],
      WINDOW,
    );
    expect(result.allow).toEqual([0, 0, 1, 0]);
    expect(result.deny).toEqual([0, 0, 1, 0]);
    expect(result.reasons).toEqual([{ label: 'tool_not_allowed', values: [0, 0, 1, 0] }]);
  });

  it('keeps the top N first reasons, ties by code, and sums the rest as other', () => {
    const records = [
      deny(10, 'a_code', 'ignored_second'),
      deny(10, 'a_code'),
      deny(11, 'a_code'),
      deny(11, 'c_code'),
      deny(12, 'c_code'),
      deny(12, 'b_code'),
      deny(12, 'b_code'),
      deny(13, 'd_code'),
      deny(13, 'e_code'),
      deny(13),
    ];
    const { deny: d, reasons } = decisionSeries(records, WINDOW, 2);
    expect(d).toEqual([2, 2, 3, 3]);
    expect(reasons).toEqual([
      { label: 'a_code', values: [2, 1, 0, 0] },
      { label: 'b_code', values: [0, 0, 2, 0] }, // ties with c_code on 2: by code
      { label: 'other', values: [0, 1, 1, 3] }, // c_code, d_code, e_code and one without a reason
    ]);
    // Every denial is in exactly one reason series.
    expect(reasons.reduce((n, s) => n + s.values.reduce((a, b) => a + b, 0), 0)).toBe(10);
  });

  it('has no other when every reason fits, and at most 5 + other by default', () => {
    expect(decisionSeries([deny(10, 'x')], WINDOW).reasons.map((s) => s.label)).toEqual(['x']);
    const many = Array.from({ length: 7 }, (_, i) => deny(11, `code_${i}`));
    expect(decisionSeries(many, WINDOW).reasons.map((s) => s.label)).toEqual([
      'code_0',
      'code_1',
      'code_2',
      'code_3',
      'code_4',
      'other',
    ]);
  });

  it('refuses a negative or fractional top N', () => {
    expect(() => decisionSeries([], WINDOW, -1)).toThrow(TypeError);
    expect(() => decisionSeries([], WINDOW, 1.5)).toThrow(TypeError);
  });
});

describe('aliveSeries', () => {
  // Bucket ends: 11:00, 12:00, 13:00 and `end` (13:30).
  const record = (created: number, fields: { expires?: number; idle?: number; revoked?: number } = {}) => ({
    created_at: T0 + created * HOUR,
    expires_at: T0 + (fields.expires ?? 48) * HOUR,
    idle_expires_at: T0 + (fields.idle ?? 48) * HOUR,
    revoked_at: fields.revoked === undefined ? null : T0 + fields.revoked * HOUR,
  });
  const cases = [
    { note: 'live through the window', input: record(9), want: [1, 1, 1, 1] },
    { note: 'created exactly at a bucket end: alive at it', input: record(11), want: [1, 1, 1, 1] },
    { note: 'created inside the last bucket, before end', input: record(13.25), want: [0, 0, 0, 1] },
    { note: 'created after end', input: record(14), want: [0, 0, 0, 0] },
    { note: 'expired exactly at a bucket end: dead at it', input: record(9, { expires: 12 }), want: [1, 0, 0, 0] },
    { note: 'revoked between two ends', input: record(9, { revoked: 12.5 }), want: [1, 1, 0, 0] },
    { note: 'revoked after its absolute expiry', input: record(9, { expires: 11.5, revoked: 13 }), want: [1, 0, 0, 0] },
    { note: 'idle-expired: dead from then on', input: record(9, { idle: 12.25 }), want: [1, 1, 0, 0] },
    { note: 'idle expiry after end (a live one)', input: record(9, { idle: 13.75 }), want: [1, 1, 1, 1] },
    { note: 'dead before the window', input: record(1, { expires: 5 }), want: [0, 0, 0, 0] },
  ];
  it.each(cases)('$note', ({ input, want }) => {
    expect(aliveSeries([input], WINDOW)).toEqual(want);
  });

  it('sums the records', () => {
    const want = [0, 1, 2, 3].map((i) => cases.reduce((n, c) => n + c.want[i]!, 0));
    expect(want).toEqual([7, 5, 3, 4]);
    expect(
      aliveSeries(
        cases.map((c) => c.input),
        WINDOW,
      ),
    ).toEqual(want);
  });
});
