import type { Decision } from '../decision/types.ts';
import { codesOf, PdpUnavailable, type ErrorFamily, type Reason } from '../errors.ts';
import { RpcCode, rpcError, type JsonRpcId } from './message.ts';
import { WardenRefusal } from './warden.ts';

/**
 * What a deny is about, by the family of its reasons' codes (docs/reason-codes.md), in
 * the order an enforcement point answers them: the token (re-authenticate), the session
 * gone (re-initialize), state that is not this principal's, the decision service
 * unavailable (retry later), else the message itself (a plain denial).
 */
export type DenialKind = 'identity' | 'state_gone' | 'state_refused' | 'unavailable' | 'denied';

const ORDER: readonly Exclude<DenialKind, 'denied'>[] = ['identity', 'state_gone', 'state_refused', 'unavailable'];
const FAMILIES: ReadonlyMap<ErrorFamily, ReadonlySet<string>> = new Map(
  ORDER.map((family) => [family, codesOf(family)]),
);

/** The kind of a refusal's or a deny's reasons. */
export function denialKind(reasons: readonly Reason[]): DenialKind {
  for (const family of ORDER) {
    const codes = FAMILIES.get(family)!;
    if (reasons.some((r) => codes.has(r.code))) return family;
  }
  return 'denied';
}

/** The data of every denial: reasons and the decision to look up in the audit trail. */
export function denialData(
  reasons: readonly Reason[],
  decisionId: string | null,
): { reasons: readonly Reason[]; decision_id: string | null } {
  return { reasons, decision_id: decisionId };
}

/** What a denial answer needs of a decision (none was made for a refusal of the PEP's own). */
export type Denied = Pick<Decision, 'reasons'> & { readonly decision_id: string | null };

/** The JSON-RPC answer to a denied request: -32003 with the reasons. */
export function forbidden(id: JsonRpcId, decision: Denied): Record<string, unknown> {
  return rpcError(
    id,
    RpcCode.forbidden,
    `Forbidden: ${decision.reasons[0]?.message ?? 'denied'}`,
    denialData(decision.reasons, decision.decision_id),
  );
}

/** The JSON-RPC answer when the session is gone: the client must initialize again. */
export function sessionGone(id: JsonRpcId, decision: Denied): Record<string, unknown> {
  return rpcError(
    id,
    RpcCode.sessionNotFound,
    'Session not found: initialize a new session',
    denialData(decision.reasons, decision.decision_id),
  );
}

/**
 * A failed session operation as a refusal with a wire code: a refusal of the warden
 * keeps its code; anything else means the PEP got no valid answer (`pdp_unavailable`).
 */
export function refusalOf(err: unknown, doing: string): WardenRefusal {
  return err instanceof WardenRefusal
    ? err
    : new WardenRefusal(PdpUnavailable.code, `${doing} failed: no valid answer from the warden`);
}

/** The reasons a refusal carries: its own code first, then the policy's. */
export function refusalReasons(refusal: WardenRefusal): Reason[] {
  return [{ code: refusal.code, message: refusal.message }, ...refusal.reasons];
}
