import fc from 'fast-check';
import { decide } from '../../../src/decision/decide.ts';
import { createSession } from '../../../src/decision/sessions.ts';
import { isWellFormedSessionId } from '../../../src/session/ids.ts';
import { createTestCore, PEP } from '../../helpers/core.ts';
import { SERVER } from '../../helpers/tokens.ts';
import { anyString, editString, type StringEdit } from './body-mutations.ts';
import { count, type FuzzTarget } from '../harness.ts';

const ID_SHAPE = /^mw[sh]_[A-Za-z0-9_-]{43}$/;

const editArb: fc.Arbitrary<StringEdit> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('replaceChar' as const, 'insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom('A', '_', '-', 'h', 's', '=', '%', '\u0000', ' '), anyString),
  }),
  fc.record({ kind: fc.constantFrom('truncate' as const, 'deleteChar' as const), at: fc.nat() }),
  fc.record({ kind: fc.constantFrom('append' as const, 'prepend' as const), text: anyString }),
  fc.constant({ kind: 'case' as const }),
);

/**
 * Session ids and state handles presented to `decide()` (in process): any string, and
 * edits of a live session id and of a live handle of the same principal.
 */
export const sessionIdTarget: FuzzTarget = {
  name: 'session ids and state handles (decide, in process)',
  invariant:
    'only the exact live id is allowed; any other string is denied session_unknown (or ' +
    'session_kind_mismatch for a live id of the other kind, handle_unknown for a handle argument not of ' +
    'the warden shape); the shape check agrees with the documented pattern',
  defaultRuns: 3000,
  async open() {
    const t = await createTestCore();
    const token = await t.idp.mint();
    const session = await createSession(t.deps, { token, server: SERVER }, PEP);
    const handle = await createSession(
      t.deps,
      { token, server: SERVER, kind: 'state-handle', tools: ['search_docs'] },
      PEP,
    );
    const ids = [session.id as string, handle.id as string];
    const outcomes = new Map<string, number>();
    const presented = fc.oneof(
      fc
        .record({ base: fc.nat({ max: 1 }), edits: fc.array(editArb, { minLength: 1, maxLength: 3 }) })
        .map(({ base, edits }) => edits.reduce(editString, ids[base] as string)),
      anyString,
    );
    const property = fc.asyncProperty(presented, fc.boolean(), async (id, asHandle) => {
      if (isWellFormedSessionId(id) !== ID_SHAPE.test(id))
        throw new Error(`shape check disagrees for ${JSON.stringify(id)}`);
      const mcp = asHandle
        ? { method: 'tools/call', params: { name: 'search_docs', arguments: { q: 'x', state: id } } }
        : { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } };
      const d = await decide(t.deps, { token, server: SERVER, ...(asHandle ? {} : { session: id }), mcp }, PEP);
      const code = d.reasons[0]?.code ?? 'allow';
      count(outcomes, `${asHandle ? 'handle' : 'session'}: ${code}`);
      const live = asHandle ? ids[1] : ids[0];
      if (d.allow) {
        if (id !== live) throw new Error(`WRONG ALLOW for ${JSON.stringify(id)}`);
        return;
      }
      if (id === live) throw new Error(`the live id was denied: ${code}`);
      // A lone surrogate in a tool argument has no canonical form: the request is refused
      // before anything else (src/decision/arguments.ts).
      if (asHandle && !id.isWellFormed()) {
        if (code !== 'invalid_request') throw new Error(`${JSON.stringify(id)}: ${code}, expected invalid_request`);
        return;
      }
      // The kind is read from the id's prefix before the store is asked (docs/sessions.md
      // lists "record exists" first; the code answers a well-formed id of the other kind
      // session_kind_mismatch without a lookup, which tells the caller nothing more).
      // A handle argument of any other shape is read as a handle the upstream minted
      // (src/decision/presented-state.ts): none was bound here, so it is handle_unknown.
      const otherKind = ID_SHAPE.test(id) && id.startsWith(asHandle ? 'mws_' : 'mwh_');
      const upstreamShape = asHandle && !ID_SHAPE.test(id);
      const expected = otherKind ? 'session_kind_mismatch' : upstreamShape ? 'handle_unknown' : 'session_unknown';
      if (code !== expected) throw new Error(`${JSON.stringify(id)}: ${code}, expected ${expected}`);
    });
    return {
      outcomes,
      check: (parameters) =>
        fc.check(property, parameters as fc.Parameters<[string, boolean]>) as Promise<fc.RunDetails<unknown>>,
      finish: async () => [],
      close: async () => {},
    };
  },
};
