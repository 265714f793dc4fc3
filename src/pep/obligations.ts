import { ObligationUnsupported } from '../errors.ts';
import type { Decision } from '../decision/types.ts';

/**
 * The obligations each enforcement point carries out, declared here and nowhere else
 * (docs/mcp.md lists them). An allow with any other obligation is a deny: a PEP that
 * forwards a call it was told to do something about, without doing it, would turn the
 * obligation into a suggestion. None is implemented yet; `approval` is the first to come.
 */
export const IMPLEMENTED_OBLIGATIONS = {
  /** `mcp-warden proxy`. */
  proxy: [],
  /** `guardTransport()` for SDK servers. */
  guard: [],
  /** `createWardenClient()` used by a third-party PEP that declares none of its own. */
  client: [],
} as const satisfies Record<string, readonly string[]>;

/**
 * The decision as this PEP may act on it: an allow whose obligations are not all in
 * `implemented` becomes a deny with `obligation_unsupported`, naming them.
 */
export function enforceableDecision(decision: Decision, implemented: ReadonlySet<string>): Decision {
  if (!decision.allow) return decision;
  const unknown = Object.keys(decision.obligations).filter((name) => !implemented.has(name));
  if (unknown.length === 0) return decision;
  const reason = new ObligationUnsupported(
    `this enforcement point does not implement the obligation(s) ${unknown.map((n) => `'${n}'`).join(', ')}`,
  );
  return { ...decision, allow: false, reasons: [{ code: reason.code, message: reason.message }], visible_tools: null };
}
