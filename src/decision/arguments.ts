/** Deepest nesting of tool arguments decided on (the HTTP layer's own limit is lower). */
const MAX_ARGUMENT_DEPTH = 64;

/**
 * Why the key `key` of an object held under the key `heldBy` is refused, or null. These are
 * the keys fastify's JSON parser refuses on the decision API (prototype poisoning): an own
 * `__proto__`, and a `prototype` inside a `constructor`. JSON.parse keeps them as data, but
 * JavaScript that copies the object by assignment (a merge, a mask) turns `__proto__` into
 * the copy's prototype: the policy would decide on a key that the copy loses and an
 * upstream may read as inherited fields. Every entry path refuses them, so nothing is
 * decided that is not recorded and forwarded as decided.
 */
export function prototypeKeyProblem(key: string, heldBy: string | null): string | null {
  if (key === '__proto__') return "the key '__proto__' is refused (JavaScript reads it as the prototype)";
  if (key === 'prototype' && heldBy === 'constructor') {
    return "the key 'prototype' inside 'constructor' is refused (JavaScript reads it as a prototype)";
  }
  return null;
}

interface Node {
  readonly value: unknown;
  readonly depth: number;
  readonly parent: Node | null;
  readonly key: string | null;
}

/**
 * Why tool arguments cannot be decided on, or null; the reason starts with the dotted path
 * of the value at fault. The policy sees them as JSON, the audit trail hashes their RFC
 * 8785 form and the upstream gets them as they are, so they must be plain JSON data that
 * all three read alike: no lone surrogate, no non-finite number (`Infinity` would become
 * `null`), no key JavaScript reads as a prototype ({@link prototypeKeyProblem}), and no
 * object of a class (a `Date` or `Map` handed in by code serializes unlike what it is, and
 * inherited fields reach code but not JSON). Iterative: deep nesting is a refusal, not a
 * stack overflow.
 */
export function argumentsProblem(value: unknown): string | null {
  const stack: Node[] = [{ value, depth: 0, parent: null, key: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const problem = valueProblem(node);
    if (problem !== null) return `${pathOf(node)}: ${problem}`;
    const v = node.value;
    if (v === null || typeof v !== 'object') continue;
    for (const [key, child] of Object.entries(v)) {
      const keyProblem = !key.isWellFormed() ? 'a key holds a lone surrogate' : prototypeKeyProblem(key, node.key);
      if (keyProblem !== null) return `${pathOf(node)}: ${keyProblem}`;
      stack.push({ value: child, depth: node.depth + 1, parent: node, key });
    }
  }
  return null;
}

function valueProblem({ value: v, depth }: Node): string | null {
  if (typeof v === 'string') return v.isWellFormed() ? null : 'a string holds a lone surrogate';
  if (typeof v === 'number') return Number.isFinite(v) ? null : 'a number is not finite';
  if (v === null || v === undefined || typeof v === 'boolean') return null;
  if (typeof v !== 'object') return `a value of type ${typeof v} is not JSON`;
  if (depth >= MAX_ARGUMENT_DEPTH) return `nested deeper than ${MAX_ARGUMENT_DEPTH} levels`;
  const proto: unknown = Object.getPrototypeOf(v);
  const plain = Array.isArray(v) ? proto === Array.prototype : proto === Object.prototype || proto === null;
  return plain ? null : 'an object of a class (or with a prototype of its own) is not JSON data';
}

/** The dotted path of a node (`mcp.params.arguments.a`), `(root)` for the value itself. */
function pathOf(node: Node): string {
  const parts: string[] = [];
  for (let n: Node | null = node; n !== null && n.key !== null; n = n.parent) parts.push(n.key);
  return parts.length === 0 ? '(root)' : parts.reverse().join('.');
}
