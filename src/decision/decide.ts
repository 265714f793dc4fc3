import { randomUUID } from 'node:crypto';
import type { AuditRecord } from '../audit/record.ts';
import { AuditUnavailable, PolicyDenied, SessionUnknown, toReason, type Reason } from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import type { PolicyEngine } from '../policy/engine.ts';
import { checkSession } from '../session/check.ts';
import { hashSessionId, isWellFormedSessionId } from '../session/ids.ts';
import type { SessionRecord } from '../session/record.ts';
import type { CoreDeps } from './deps.ts';
import { buildPolicyInput, toolOf } from './policy-input.ts';
import type { Caller, Decision, DecideRequest } from './types.ts';

const LIST_METHODS = new Set(['tools/list', 'resources/list', 'prompts/list']);

/**
 * The one decision pipeline: identity → session → policy → audit. Never throws: every
 * failure becomes `allow: false` with a reason, and the answer leaves only after its
 * audit record was accepted.
 */
export async function decide(deps: CoreDeps, request: DecideRequest, caller: Caller): Promise<Decision> {
  const decisionId = randomUUID();
  const now = deps.clock();
  const sessionHash = request.session ? hashSessionId(request.session) : null;
  let engine: PolicyEngine | undefined;
  let principal: Principal | null = null;
  let allow = false;
  let reasons: readonly Reason[] = [];
  let obligations: Readonly<Record<string, unknown>> = {};
  let visible: readonly string[] | null = null;
  try {
    engine = deps.policy.get();
    principal = await deps.verifier.verify(request.token, request.server);
    const session = await loadSession(deps, request, principal, sessionHash, now);
    const output = engine.decide(
      buildPolicyInput({ mcp: request.mcp, principal, session, server: request.server, caller, now }),
    );
    allow = output.allow;
    reasons = output.reasons;
    obligations = output.obligations;
    visible = LIST_METHODS.has(request.mcp.method) ? output.visible : null;
    if (allow && session !== null && sessionHash !== null) await deps.sessions.touch(sessionHash, now);
  } catch (err) {
    allow = false;
    reasons = [toReason(err)];
    obligations = {};
    visible = null;
  }
  if (!allow && reasons.length === 0) reasons = [toReason(new PolicyDenied('the policy denied the request without a reason'))];
  const decision: Decision = {
    decision_id: decisionId,
    allow,
    reasons,
    obligations,
    visible_tools: allow ? visible : null,
    policy: { revision: engine?.revision ?? null },
  };
  try {
    await deps.audit.append(decisionRecord(decision, request, caller, principal, sessionHash, now));
  } catch (err) {
    const reason = toReason(err instanceof AuditUnavailable ? err : new AuditUnavailable('the audit sink failed'));
    return { ...decision, allow: false, reasons: [reason], obligations: {}, visible_tools: null };
  }
  return decision;
}

async function loadSession(
  deps: CoreDeps,
  request: DecideRequest,
  principal: Principal,
  sessionHash: string | null,
  now: number,
): Promise<SessionRecord | null> {
  if (request.session === undefined || sessionHash === null) return null;
  // An id of a shape we never issue is unknown without a store round trip.
  if (!isWellFormedSessionId(request.session)) throw new SessionUnknown('the session is unknown');
  const record = await deps.sessions.get(sessionHash);
  return checkSession(record, { principal, server: request.server, tool: toolOf(request.mcp), now });
}

function decisionRecord(
  decision: Decision,
  request: DecideRequest,
  caller: Caller,
  principal: Principal | null,
  sessionHash: string | null,
  now: number,
): AuditRecord {
  return {
    v: 1,
    ts: new Date(now).toISOString(),
    kind: 'decision',
    decision_id: decision.decision_id,
    caller: caller.id,
    principal: principal && { iss: principal.iss, sub: principal.sub, client_id: principal.client_id },
    session: sessionHash,
    server: request.server,
    method: request.mcp.method,
    tool: toolOf(request.mcp),
    allow: decision.allow,
    reasons: decision.reasons,
    policy_revision: decision.policy.revision,
  };
}
