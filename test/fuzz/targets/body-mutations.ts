import fc from 'fast-check';

/**
 * Structured mutations of a valid JSON request body, for fuzzing an HTTP route: wrong
 * types, huge and hostile strings, deep nesting, prototype-pollution keys, duplicate keys
 * and byte-level damage. Each mutation names the field it touched, so a 400 can be
 * checked to name it too.
 */

/** A JSON text inserted as is (deep nesting is built as text, not as objects). */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

type Path = readonly string[];

export type Mutation =
  | { readonly op: 'set'; readonly path: Path; readonly value: unknown }
  | { readonly op: 'delete'; readonly path: Path }
  | { readonly op: 'addKey'; readonly path: Path; readonly key: string; readonly value: unknown }
  | { readonly op: 'editString'; readonly path: Path; readonly edit: StringEdit };

export type StringEdit =
  | { readonly kind: 'replaceChar' | 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'truncate' | 'deleteChar'; readonly at: number }
  | { readonly kind: 'append' | 'prepend'; readonly text: string }
  | { readonly kind: 'case' };

/** Damage to the encoded body, after serialization. */
export type ByteEdit =
  | { readonly kind: 'duplicateKey'; readonly key: string; readonly value: unknown; readonly first: boolean }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'prefix' | 'suffix'; readonly bytes: Uint8Array };

/** Characters that break naive string handling. */
const HOSTILE = [
  '\u0000',
  '\uD800',
  '\uDFFF',
  '\u202E',
  '\uFEFF',
  '\u00A0',
  '😀',
  'é',
  '\\',
  '"',
  '/',
  '%2e%2e',
  '..',
  '\n',
  '\r\n',
  '\t',
  ' ',
];

/** Strings of every kind: ASCII, full Unicode, lone surrogates, hostile fragments. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  fc.array(fc.constantFrom(...HOSTILE), { maxLength: 8 }).map((a) => a.join('')),
);

const hugeString = fc
  .tuple(fc.constantFrom(300, 1_100, 3_000, 17_000, 70_000), fc.constantFrom('A', 'é', '😀', '\u0000', '\uD800'))
  .map(([n, c]) => c.repeat(n));

/** Nesting built as text, so any depth costs nothing to generate. */
const deepNesting = fc
  .tuple(fc.integer({ min: 10, max: 30_000 }), fc.constantFrom('array', 'object', 'proto', 'constructor'))
  .map(([depth, kind]) => {
    if (kind === 'array') return new RawJson(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    const key = kind === 'proto' ? '__proto__' : kind === 'constructor' ? 'constructor' : 'a';
    const inner = kind === 'constructor' ? '{"prototype":{"polluted":true}}' : '{"polluted":true}';
    return new RawJson(`${`{"${key}":`.repeat(depth)}${inner}${'}'.repeat(depth)}`);
  });

/** Any value a field could be given instead of its own. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: anyString },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: fc.constantFrom(null, true, 0, -1, 1e308, -0, '', [], {}) },
);

const POLLUTING_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];
const keyArb = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...POLLUTING_KEYS) },
  { weight: 1, arbitrary: anyString },
);

const stringEdit: fc.Arbitrary<StringEdit> = fc.oneof(
  fc.record({ kind: fc.constantFrom('replaceChar' as const, 'insert' as const), at: fc.nat(), text: anyString }),
  fc.record({ kind: fc.constantFrom('truncate' as const, 'deleteChar' as const), at: fc.nat() }),
  fc.record({ kind: fc.constantFrom('append' as const, 'prepend' as const), text: anyString }),
  fc.constant({ kind: 'case' as const }),
);

/** Mutations over the given paths of a body (and new keys below them). */
export function mutationArb(paths: readonly Path[]): fc.Arbitrary<Mutation> {
  const path = fc.constantFrom(...paths);
  return fc.oneof(
    fc.record({ op: fc.constant('set' as const), path, value: anyValue }),
    fc.record({ op: fc.constant('delete' as const), path }),
    fc.record({ op: fc.constant('addKey' as const), path, key: keyArb, value: anyValue }),
    { weight: 2, arbitrary: fc.record({ op: fc.constant('editString' as const), path, edit: stringEdit }) },
  );
}

export const byteEditArb: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({
    kind: fc.constant('duplicateKey' as const),
    key: fc.constantFrom('token', 'server', 'session', 'mcp', '__proto__'),
    value: anyValue,
    first: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constantFrom('prefix' as const, 'suffix' as const),
    bytes: fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.constant(new Uint8Array([0xef, 0xbb, 0xbf]))),
  }),
);

/** The dotted name of a path, as the error envelope writes it. */
export function dotted(path: Path): string {
  return path.join('.');
}

/** The paths a mutation touched. */
export function touched(m: Mutation): string {
  return m.op === 'addKey' ? dotted([...m.path, m.key]) : dotted(m.path);
}

/** Applies mutations to a deep copy of `body`; a path whose parent is not an object is left alone. */
export function mutate(body: unknown, mutations: readonly Mutation[]): unknown {
  let root: unknown = structuredClone(body);
  for (const m of mutations) {
    if (m.path.length === 0 && m.op !== 'addKey') {
      if (m.op === 'set') root = m.value;
      else if (m.op === 'delete') root = undefined;
      else if (typeof root === 'string') root = editString(root, m.edit);
      continue;
    }
    const target = m.op === 'addKey' ? m.path : m.path.slice(0, -1);
    const parent = walk(root, target);
    if (parent === undefined) continue;
    const key = m.op === 'addKey' ? m.key : (m.path.at(-1) as string);
    if (m.op === 'delete') delete parent[key];
    else if (m.op === 'editString') {
      if (typeof parent[key] === 'string') own(parent, key, editString(parent[key], m.edit));
    } else own(parent, key, m.value);
  }
  return root;
}

function walk(root: unknown, path: Path): Record<string, unknown> | undefined {
  let cur = root;
  for (const part of path) {
    if (!isObject(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = cur[part];
  }
  return isObject(cur) ? cur : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawJson);
}

/** An own, enumerable property, even for `__proto__` (so it is serialized as a key). */
function own(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function editString(s: string, e: StringEdit): string {
  const at = s.length === 0 ? 0 : 'at' in e ? e.at % (s.length + 1) : 0;
  switch (e.kind) {
    case 'replaceChar':
      return s.slice(0, at) + e.text.slice(0, 1) + s.slice(at + 1);
    case 'insert':
      return s.slice(0, at) + e.text + s.slice(at);
    case 'truncate':
      return s.slice(0, at);
    case 'deleteChar':
      return s.slice(0, at) + s.slice(at + 1);
    case 'append':
      return s + e.text;
    case 'prepend':
      return e.text + s;
    case 'case':
      return s === s.toUpperCase() ? s.toLowerCase() : s.toUpperCase();
  }
}

/** JSON text of a value holding `RawJson` parts (only the shallow body is walked). */
export function serialize(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value === undefined) return '';
  if (Array.isArray(value)) return `[${value.map((v) => serialize(v) || 'null').join(',')}]`;
  if (isObject(value)) {
    const parts = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${serialize(value[k])}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Applies damage to the encoded body. */
export function damage(bytes: Buffer, edits: readonly ByteEdit[]): Buffer {
  let out = bytes;
  for (const e of edits) {
    switch (e.kind) {
      case 'duplicateKey': {
        const text = out.toString('utf8');
        if (!text.startsWith('{') || !text.endsWith('}')) break;
        const pair = `${JSON.stringify(e.key)}:${serialize(e.value) || 'null'}`;
        const inner = text.slice(1, -1);
        out = Buffer.from(e.first ? `{${pair}${inner ? `,${inner}` : ''}}` : `{${inner}${inner ? ',' : ''}${pair}}`);
        break;
      }
      case 'truncate':
        out = out.subarray(0, out.length === 0 ? 0 : e.at % out.length);
        break;
      case 'flip': {
        if (out.length === 0) break;
        const copy = Buffer.from(out);
        const i = e.at % copy.length;
        copy[i] = (copy[i] as number) ^ (1 << e.bit);
        out = copy;
        break;
      }
      case 'prefix':
        out = Buffer.concat([Buffer.from(e.bytes), out]);
        break;
      case 'suffix':
        out = Buffer.concat([out, Buffer.from(e.bytes)]);
        break;
    }
  }
  return out;
}
