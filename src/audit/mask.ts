/** What a masked value is replaced with. */
export const MASKED = '[masked]';

/** How tool arguments are masked before a record is hashed or written. */
export interface MaskRules {
  /** Lower-cased names masked at any depth. */
  readonly keys: ReadonlySet<string>;
  /** JSON pointers, already split into unescaped segments. */
  readonly pointers: readonly (readonly string[])[];
}

/** Compiles config (names, RFC 6901 pointers) into rules. */
export function maskRules(keys: readonly string[], pointers: readonly string[]): MaskRules {
  return {
    keys: new Set(keys.map((k) => k.toLowerCase())),
    pointers: pointers.map((p) =>
      p
        .slice(1)
        .split('/')
        .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~')),
    ),
  };
}

/** A copy of `value` with every rule applied; the input is not changed. */
export function maskArguments(value: unknown, rules: MaskRules): unknown {
  const copy = maskKeys(value, rules.keys);
  for (const pointer of rules.pointers) maskPointer(copy, pointer);
  return copy;
}

function maskKeys(value: unknown, keys: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => maskKeys(v, keys));
  if (value === null || typeof value !== 'object') return value;
  // fromEntries defines each key: an own `__proto__` stays a key of the copy, where an
  // assignment would make it the copy's prototype and drop it from the record.
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, keys.has(k.toLowerCase()) ? MASKED : maskKeys(v, keys)]),
  );
}

function maskPointer(root: unknown, path: readonly string[]): void {
  let cur: unknown = root;
  for (let i = 0; i < path.length; i++) {
    if (cur === null || typeof cur !== 'object') return;
    const key = path[i] as string;
    if (!Object.hasOwn(cur, key)) return;
    if (i === path.length - 1) (cur as Record<string, unknown>)[key] = MASKED;
    else cur = (cur as Record<string, unknown>)[key];
  }
}
