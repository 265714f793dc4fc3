import { describe, expect, it } from 'vitest';
import { compareRevisions } from '../../src/policy/revision.ts';

/** `want`: how `older` compares with `newer` (-1: older, 0: the same revision). */
const cases: { note: string; older: string; newer: string; want: -1 | 0 }[] = [
  { note: 'build numbers by value, not by text', older: '9', newer: '10', want: -1 },
  { note: 'numbers inside a revision', older: 'v1.9.3', newer: 'v1.10.0', want: -1 },
  { note: 'dates and times', older: '2026-12-02T09:59:59Z', newer: '2026-12-02T10:00:00Z', want: -1 },
  { note: 'a date and a build', older: '2026.12.02-9', newer: '2026.12.02-10', want: -1 },
  { note: 'a prefix is older', older: 'release-3', newer: 'release-3.1', want: -1 },
  { note: 'no revision is older than any', older: '', newer: '0', want: -1 },
  { note: 'text runs by code units', older: 'rc-a', newer: 'rc-b', want: -1 },
  { note: 'a digit run sorts before a letter run', older: 'v1', newer: 'va', want: -1 },
  { note: 'leading zeros: the value ties, the whole string decides', older: '007', newer: '7', want: -1 },
  { note: 'decimal millisecond dev builds', older: 'dev-1764669600000', newer: 'dev-1764669600001', want: -1 },
  { note: 'very long numbers without overflow', older: `${'9'.repeat(40)}`, newer: `1${'0'.repeat(40)}`, want: -1 },
  { note: 'only an identical string is the same revision', older: 'r-42', newer: 'r-42', want: 0 },
];

describe('compareRevisions', () => {
  for (const c of cases) {
    it(`${c.note}: ${JSON.stringify(c.older)} vs ${JSON.stringify(c.newer)}`, () => {
      expect(Math.sign(compareRevisions(c.older, c.newer))).toBe(c.want);
      expect(Math.sign(compareRevisions(c.newer, c.older))).toBe(c.want === 0 ? 0 : 1);
    });
  }

  it('is a total order: sorting any list gives one answer whatever the input order', () => {
    const revisions = ['10', '9', 'v2', 'v10', '', 'a', '007', '7', 'x-1', 'x-01'];
    const sorted = [...revisions].sort(compareRevisions);
    expect([...revisions].reverse().sort(compareRevisions)).toEqual(sorted);
    expect(sorted).toEqual(['', '007', '7', '9', '10', 'a', 'v2', 'v10', 'x-01', 'x-1']);
  });
});
