import { maskArguments, type MaskRules } from '../audit/mask.ts';
import { auditRecord, recordedPrincipal, type AuditRecord } from '../audit/record.ts';
import { ObligationUnsupported } from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import { ownerOf } from '../session/check.ts';
import { argumentsHash, bindingHash } from './binding.ts';
import type { ApprovalDeps } from './deps.ts';
import { approvalIdHash, newApprovalId } from './ids.ts';
import { parseApprovalObligation } from './obligation.ts';
import { pendingRecord, stateAt, type ApprovalRecord } from './record.ts';

/** The call an allow with an `approval` obligation is for. */
export interface GatedCall {
  readonly obligation: unknown;
  readonly principal: Principal;
  readonly server: string;
  readonly tool: string;
  readonly arguments: Readonly<Record<string, unknown>> | undefined;
  /** How the client described itself, shown to the approver. */
  readonly client: Readonly<Record<string, unknown>> | undefined;
  /** The session the call was made in (its hash and absolute expiry), or null. */
  readonly session: { readonly id_hash: string; readonly expires_at: number } | null;
  readonly decisionId: string;
  readonly caller: string;
  readonly now: number;
  readonly mask: MaskRules;
}

/**
 * What an allow that needs an approval becomes: `consumed`, when an unused grant covered
 * this exact call (it is used up now, whoever races for it: one wins); else `parked`, with
 * the request the approver decides (a new one, or the live one of the same call).
 * `record` is the audit record the outcome owes, if any.
 */
export type GateOutcome =
  | { readonly kind: 'consumed'; readonly approval: ApprovalRecord; readonly record: AuditRecord }
  | { readonly kind: 'parked'; readonly approval: ApprovalRecord; readonly record: AuditRecord | null };

/**
 * Passes a call through its approval: the grant for its binding is consumed exactly once,
 * atomically in the store; a call no grant covers is parked. Only a `tools/call` can be
 * gated (the caller checks). Throws `approval_invalid` for a malformed obligation, and
 * `obligation_unsupported` where no approvals are kept.
 */
export async function passApproval(deps: ApprovalDeps | undefined, call: GatedCall): Promise<GateOutcome> {
  if (deps === undefined) throw new ObligationUnsupported('this service keeps no approvals (approvals are off)');
  const obligation = parseApprovalObligation(call.obligation);
  const { principal, server, tool, session, now } = call;
  const owner = ownerOf(principal);
  const args = call.arguments ?? {};
  const binding = bindingHash({ owner, session: session?.id_hash ?? null, server, tool, arguments: args });
  const current = await deps.store.byBinding(binding);
  if (current !== undefined && stateAt(current, now) === 'granted') {
    const used = await deps.store.transition(
      current.id_hash,
      { from: ['granted'], to: 'consumed', when: 'live', set: { consumed_at: now, consumed_by: call.decisionId } },
      now,
    );
    if (used !== undefined) return { kind: 'consumed', approval: used, record: consumedRecord(used, call) };
  }
  const requestTtl = Math.min(obligation.request_ttl_seconds ?? deps.requestTtlSeconds, deps.maxRequestTtlSeconds);
  const id = newApprovalId();
  const parked = await deps.store.park(
    pendingRecord({
      id,
      id_hash: approvalIdHash(id),
      binding,
      owner,
      server,
      session: session?.id_hash ?? null,
      tool,
      arguments_sha256: argumentsHash(args),
      arguments: maskArguments(args, call.mask),
      client: call.client ?? null,
      obligation,
      decision_id: call.decisionId,
      created_by: call.caller,
      created_at: now,
      // A request outlives neither its wait nor the session it was made in.
      expires_at: Math.min(now + requestTtl * 1000, session?.expires_at ?? Number.POSITIVE_INFINITY),
    }),
    now,
  );
  return {
    kind: 'parked',
    approval: parked.record,
    record: parked.created ? requestedRecord(parked.record, principal, call) : null,
  };
}

function requestedRecord(approval: ApprovalRecord, principal: Principal, call: GatedCall): AuditRecord {
  return auditRecord('approval.requested', call.now, call.caller, {
    decision_id: call.decisionId,
    principal: recordedPrincipal(principal),
    session: approval.session,
    server: approval.server,
    method: 'tools/call',
    tool: approval.tool,
    allow: false,
    detail: {
      approval: approval.id,
      binding: approval.binding,
      arguments_sha256: approval.arguments_sha256,
      approvers: approval.obligation.approvers,
      reason: approval.obligation.reason ?? null,
      expires_at: new Date(approval.expires_at).toISOString(),
    },
  });
}

function consumedRecord(approval: ApprovalRecord, call: GatedCall): AuditRecord {
  return auditRecord('approval.consumed', call.now, call.caller, {
    decision_id: call.decisionId,
    principal: recordedPrincipal(call.principal),
    session: approval.session,
    server: approval.server,
    method: 'tools/call',
    tool: approval.tool,
    allow: true,
    detail: {
      approval: approval.id,
      binding: approval.binding,
      granted_by: approval.decided_by,
    },
  });
}
