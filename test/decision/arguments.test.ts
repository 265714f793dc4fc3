import { describe, expect, it } from 'vitest';
import { argumentsProblem, prototypeKeyProblem } from '../../src/decision/arguments.ts';

class Point {
  readonly x: number;
  constructor(x: number) {
    this.x = x;
  }
}

const own = (text: string): unknown => JSON.parse(text);

// Each case: what code or a parser hands the core, and the problem (null: decided as it is).
const CASES: { note: string; input: unknown; want: RegExp | null }[] = [
  { note: 'plain JSON data', input: { path: '/srv/data/x', n: [1, 2.5, null, true], o: { a: 'b' } }, want: null },
  {
    note: 'a null-prototype object is JSON data',
    input: Object.assign(Object.create(null), { path: '/a' }),
    want: null,
  },
  {
    note: 'constructor and prototype keys that reach no prototype',
    input: own('{"constructor":"c","prototype":{"x":1}}'),
    want: null,
  },
  {
    note: 'an own __proto__ (JSON.parse)',
    input: own('{"__proto__":{"admin":true},"path":"/srv/data/x"}'),
    want: /^\(root\): the key '__proto__' is refused/,
  },
  {
    note: 'an own __proto__, deep',
    input: { a: [own('{"__proto__":1}')] },
    want: /^a\.0: the key '__proto__' is refused/,
  },
  {
    note: 'prototype inside constructor',
    input: own('{"constructor":{"prototype":{}}}'),
    want: /^constructor: the key 'prototype' inside 'constructor'/,
  },
  {
    note: 'a literal __proto__ (a prototype of its own)',
    input: { __proto__: { admin: true }, path: '/srv/data/x' },
    want: /^\(root\): an object of a class/,
  },
  { note: 'a Date', input: { when: new Date(0) }, want: /^when: an object of a class/ },
  { note: 'a Map', input: { m: new Map([['a', 1]]) }, want: /^m: an object of a class/ },
  { note: 'a class instance', input: { p: new Point(1) }, want: /^p: an object of a class/ },
  { note: 'a lone surrogate in a value', input: { s: 'x\ud800' }, want: /^s: a string holds a lone surrogate/ },
  { note: 'a lone surrogate in a key', input: { o: { 'k\udc00': 1 } }, want: /^o: a key holds a lone surrogate/ },
  { note: 'a non-finite number', input: { n: [Infinity] }, want: /^n\.0: a number is not finite/ },
  { note: 'a function', input: { f: () => 1 }, want: /^f: a value of type function is not JSON/ },
  { note: 'a bigint', input: { b: 1n }, want: /^b: a value of type bigint is not JSON/ },
];

describe('argumentsProblem', () => {
  for (const { note, input, want } of CASES) {
    it(note, () => {
      const problem = argumentsProblem(input);
      if (want === null) expect(problem).toBeNull();
      else expect(problem).toMatch(want);
    });
  }

  it('refuses nesting deeper than 64 levels without overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    expect(argumentsProblem(deep)).toMatch(/nested deeper than 64 levels$/);
  });

  it('names the path from the value handed in (the core hands in the whole request)', () => {
    const request = {
      server: 'https://s',
      mcp: { method: 'tools/call', params: { arguments: own('{"__proto__":{}}') } },
    };
    expect(argumentsProblem(request)).toMatch(/^mcp\.params\.arguments: the key '__proto__'/);
  });
});

describe('prototypeKeyProblem', () => {
  it('refuses __proto__ under any key, prototype only under constructor', () => {
    expect(prototypeKeyProblem('__proto__', null)).not.toBeNull();
    expect(prototypeKeyProblem('__proto__', 'x')).not.toBeNull();
    expect(prototypeKeyProblem('prototype', 'constructor')).not.toBeNull();
    expect(prototypeKeyProblem('prototype', null)).toBeNull();
    expect(prototypeKeyProblem('constructor', null)).toBeNull();
    expect(prototypeKeyProblem('__proto', null)).toBeNull();
  });
});
