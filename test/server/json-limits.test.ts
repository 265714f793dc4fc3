import { describe, expect, it } from 'vitest';
import { checkJsonLimits } from '../../src/server/json-limits.ts';

const LIMITS = { maxDepth: 4, maxKeys: 10 };
const nest = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
};

describe('checkJsonLimits', () => {
  const cases: { note: string; input: unknown; want: null | { code: string; path: string } }[] = [
    { note: 'a scalar body', input: 'x', want: null },
    { note: 'exactly the depth limit', input: nest(4), want: null },
    { note: 'one level deeper', input: nest(5), want: { code: 'invalid_request', path: 'a.a.a.a' } },
    {
      note: 'arrays count as levels, indexes in the path',
      input: { a: [[[{ b: 1 }]]] },
      want: { code: 'invalid_request', path: 'a.0.0.0' },
    },
    {
      note: 'exactly the key limit across depths',
      input: { a: 1, b: 2, c: { d: 1, e: 2, f: { g: 1, h: 2 } }, i: [{ j: 1 }] },
      want: null,
    },
    {
      note: 'one key more',
      input: { a: 1, b: 2, c: { d: 1, e: 2, f: { g: 1, h: 2, x: 3 } }, i: [{ j: 1 }] },
      want: { code: 'payload_too_large', path: 'c.f' },
    },
    { note: 'array items are not keys', input: { a: Array.from({ length: 100 }, () => 1) }, want: null },
  ];
  for (const { note, input, want } of cases) {
    it(note, () => {
      const problem = checkJsonLimits(input, LIMITS);
      if (want === null) expect(problem).toBeNull();
      else {
        expect(problem?.code).toBe(want.code);
        expect((problem as unknown as { errors: { path: string }[] }).errors[0]?.path).toBe(want.path);
      }
    });
  }

  it('walks a body nested 100 000 deep without overflowing the stack', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
    expect(checkJsonLimits(deep, { maxDepth: 32, maxKeys: 10 })?.code).toBe('invalid_request');
  });
});
