import type { FastifyInstance } from 'fastify';
import { InvalidRequest, PayloadTooLarge, type WardenError } from '../errors.ts';

/** Shape limits of a JSON body, checked after parsing and before validation. */
export interface JsonLimits {
  /** Deepest nesting of objects and arrays; the root object is depth 1. */
  readonly maxDepth: number;
  /** Most object keys in the whole body, at every depth. */
  readonly maxKeys: number;
}

interface Node {
  readonly value: unknown;
  readonly depth: number;
  readonly parent: Node | null;
  readonly key: string;
}

/**
 * The first limit `value` breaks, or null: `invalid_request` for nesting deeper than
 * `maxDepth`, `payload_too_large` past `maxKeys` keys, each naming where (dotted path).
 * Walks with its own stack, so a deep body cannot overflow the call stack here, and
 * stops validation (zod recurses) from ever seeing one.
 */
export function checkJsonLimits(value: unknown, limits: JsonLimits): WardenError | null {
  const stack: Node[] = [{ value, depth: value !== null && typeof value === 'object' ? 1 : 0, parent: null, key: '' }];
  let keys = 0;
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    const current = node.value;
    if (current === null || typeof current !== 'object') continue;
    if (node.depth > limits.maxDepth) {
      const path = pathOf(node);
      return new InvalidRequest(`the body is nested deeper than ${limits.maxDepth} levels`, [
        { path, message: `nested deeper than ${limits.maxDepth} levels (server.max_json_depth)` },
      ]);
    }
    const entries = Array.isArray(current) ? current.map((v, i) => [String(i), v] as const) : Object.entries(current);
    if (!Array.isArray(current)) {
      keys += entries.length;
      if (keys > limits.maxKeys) {
        return new PayloadTooLarge(`the body holds more than ${limits.maxKeys} keys`, [
          { path: pathOf(node), message: `more than ${limits.maxKeys} keys in the body (server.max_json_keys)` },
        ]);
      }
    }
    for (const [key, child] of entries) {
      if (child !== null && typeof child === 'object')
        stack.push({ value: child, depth: node.depth + 1, parent: node, key });
    }
  }
  return null;
}

/** The dotted path of a node, as validation errors name fields (`mcp.params.arguments.a`). */
function pathOf(node: Node): string {
  const parts: string[] = [];
  for (let n: Node | null = node; n !== null && n.parent !== null; n = n.parent) parts.push(n.key);
  return parts.reverse().join('.');
}

/**
 * Replaces the JSON parser with fastify's own (prototype-poisoning checks included)
 * followed by {@link checkJsonLimits}.
 */
export function installJsonParser(app: FastifyInstance, limits: JsonLimits): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(err, undefined);
      const problem = checkJsonLimits(value, limits);
      return problem === null ? done(null, value) : done(problem, undefined);
    });
  });
}
