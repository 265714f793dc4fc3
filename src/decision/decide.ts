import { randomUUID } from 'node:crypto';
import { approvalUrl } from '../approval/deps.ts';
import { passApproval } from '../approval/gate.ts';
import { APPROVAL_OBLIGATION } from '../approval/obligation.ts';
import { maskArguments, type MaskRules } from '../audit/mask.ts';
import { auditRecord, recordedPrincipal, type AuditKind, type AuditRecord } from '../audit/record.ts';
import {
  ApprovalRequired,
  AuditUnavailable,
  InvalidRequest,
  ObligationUnsupported,
  PolicyDenied,
  HandleOwnerMismatch,
  RequestStateOwnerMismatch,
  SessionOwnerMismatch,
  TaskOwnerMismatch,
  toReason,
  type Reason,
} from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import { usageOf, type SharedUse } from '../shared-use/tracker.ts';
import type { PolicyEngine } from '../policy/engine.ts';
import type { HandleResult } from '../policy/handle-result.ts';
import { hashSessionId } from '../session/ids.ts';
import { argumentsProblem } from './arguments.ts';
import { isListMethod } from './list-methods.ts';
import type { CoreDeps } from './deps.ts';
import { buildPolicyInput, toolOf } from './policy-input.ts';
import { loadPresentedState } from './presented-state.ts';
import { assertNotRevoked, lookupFor } from './principal-revocation.ts';
import { requestStateHash, unsealRequestState } from './request-state.ts';
import { loadBound, ownTasks, TASK_METHODS } from './bound-state.ts';
import type { ApprovalTicket, Caller, Decision, DecideRequest } from './types.ts';
import { signUpstreamIdentity } from './upstream-identity.ts';

/**
 * The one decision pipeline: identity → principal revocation → session → policy → audit. Never throws: every
 * failure becomes `allow: false` with a reason, and the answer leaves only after its
 * audit record was accepted.
 */
export async function decide(deps: CoreDeps, request: DecideRequest, caller: Caller): Promise<Decision> {
  const started = performance.now();
  const decisionId = randomUUID();
  const now = deps.clock();
  let engine: PolicyEngine | undefined;
  let principal: Principal | null = null;
  let allow = false;
  let reasons: readonly Reason[] = [];
  let obligations: Readonly<Record<string, unknown>> = {};
  let visible: readonly string[] | null = null;
  let requiredScopes: readonly string[] = [];
  let sessionHash: string | null = null;
  let handleHash: string | null = null;
  let taskHash: string | null = null;
  let requestState: string | null = null;
  let stateHash: string | null = null;
  let handleResult: HandleResult | null = null;
  let upstreamIdentity: string | null = null;
  let approval: ApprovalTicket | null = null;
  let shared: SharedUse | null = null;
  const records: AuditRecord[] = [];
  const unfit = requestProblem(request);
  try {
    if (unfit !== null) throw new InvalidRequest(`the request cannot be decided: ${unfit}`);
    engine = deps.policy.get();
    // The token's principal is known (and recorded) even when its actor chain is refused.
    principal = await deps.verifier.verify(request.token, request.server);
    principal = await deps.verifier.delegated(principal, request.agent_token, request.server);
    // The principal revocation is decided first; the session read goes out with it (on a
    // shared store both travel in one round trip) and is only looked at once it passed.
    const revoked = assertNotRevoked(deps, lookupFor(principal, request.token), now);
    const presented = loadPresentedState(deps, engine, request, principal, now);
    presented.catch(() => undefined);
    // The use is counted alongside (one more round trip to a shared store, not in series).
    const observed = deps.sharedUse?.observe(principal, now);
    observed?.catch(() => undefined);
    await revoked;
    shared = (await observed) ?? null;
    if (shared?.became_shared === true) {
      records.push(sharedRecord(request, { caller, principal, now, decisionId }, shared));
      deps.observe?.sharedPrincipal?.();
    }
    const { session, handle, upstreamHandle } = await presented;
    sessionHash = session?.id_hash ?? null;
    handleHash = (handle ?? upstreamHandle)?.id_hash ?? null;
    const { mcp } = request;
    const task = TASK_METHODS.has(mcp.method)
      ? await loadBound(deps, 'task', { server: request.server, principal, now }, mcp.params?.taskId)
      : null;
    taskHash = task?.id_hash ?? null;
    // A multi-round-trip retry returns the requestState the proxy sealed; only its owner gets it unsealed.
    const presentedState = mcp.params?.requestState;
    stateHash = typeof presentedState === 'string' ? requestStateHash(presentedState) : null;
    requestState =
      presentedState === undefined
        ? null
        : await unsealRequestState(deps.stateKey, presentedState, { principal, server: request.server, now });
    // A task list shows the policy only the tasks that are the principal's own.
    const candidates =
      mcp.method === 'tasks/list' && mcp.candidates !== undefined
        ? await ownTasks(deps, { server: request.server, principal, now }, mcp.candidates)
        : mcp.candidates;
    const output = engine.decide(
      buildPolicyInput({
        mcp: candidates === mcp.candidates ? mcp : { ...mcp, candidates },
        principal,
        shared,
        session: session ?? handle,
        task,
        server: request.server,
        caller,
        now,
      }),
    );
    allow = output.allow;
    reasons = output.reasons;
    obligations = output.obligations;
    visible = isListMethod(request.mcp.method) ? output.visible : null;
    requiredScopes = output.required_scopes;
    // A tool whose results carry a handle the upstream mints: the PEP binds it as it leaves.
    const tool = toolOf(mcp);
    handleResult = allow && tool !== null ? engine.handleResult(tool) : null;
    if (allow && request.upstream_identity === true) {
      upstreamIdentity = await signUpstreamIdentity(deps.upstreamIdentity, {
        principal,
        server: request.server,
        decisionId,
        now,
      });
    }
    if (allow && APPROVAL_OBLIGATION in obligations) {
      // Last, once all else allowed: a grant is used up only by a call that goes upstream.
      if (mcp.method !== 'tools/call' || tool === null) {
        throw new ObligationUnsupported(`an approval covers a tools/call, not ${mcp.method}`);
      }
      const gate = await passApproval(deps.approvals, {
        obligation: obligations[APPROVAL_OBLIGATION],
        principal,
        server: request.server,
        tool,
        arguments: mcp.params?.arguments,
        client: mcp.client,
        session: session === null ? null : { id_hash: session.id_hash, expires_at: session.expires_at },
        decisionId,
        caller: caller.id,
        now,
        mask: deps.mask,
      });
      if (gate.record !== null) records.push(gate.record);
      if (gate.kind === 'consumed') {
        const { [APPROVAL_OBLIGATION]: _done, ...rest } = obligations;
        obligations = rest;
      } else {
        const { approval: parked } = gate;
        const url = approvalUrl(deps.approvals!, parked.id);
        approval = {
          id: parked.id,
          url,
          expires_at: new Date(parked.expires_at).toISOString(),
          reason: parked.obligation.reason ?? null,
        };
        allow = false;
        reasons = [
          toReason(
            new ApprovalRequired(`the call waits for an approval (${parked.id})${url === null ? '' : `: ${url}`}`),
          ),
        ];
        obligations = {};
        visible = null;
        handleResult = null;
        upstreamIdentity = null;
      }
    }
    if (allow) {
      // Only an allowed use keeps state alive; a denied one never extends it. The answer
      // does not wait for the touch: a lost touch only makes the state expire sooner, and
      // the store never lets a touch revive a revoked or expired record.
      for (const state of [session, handle]) {
        if (state !== null) deps.sessions.touch(state.id_hash, now).catch(() => undefined);
      }
    }
  } catch (err) {
    allow = false;
    reasons = [toReason(err)];
    obligations = {};
    visible = null;
    requiredScopes = [];
    if (err instanceof SessionOwnerMismatch && principal !== null) {
      records.push(
        ownerMismatchRecord('session.owner_mismatch', err.idHash, request, { caller, principal, now, decisionId }),
      );
    }
    requestState = null;
    upstreamIdentity = null;
    approval = null;
    handleResult = null;
    if (err instanceof RequestStateOwnerMismatch && principal !== null && stateHash !== null) {
      records.push(
        ownerMismatchRecord('request_state.owner_mismatch', stateHash, request, { caller, principal, now, decisionId }),
      );
    }
    if (err instanceof HandleOwnerMismatch && principal !== null) {
      handleHash = err.idHash;
      records.push(
        ownerMismatchRecord('handle.owner_mismatch', err.idHash, request, { caller, principal, now, decisionId }),
      );
    }
    if (err instanceof TaskOwnerMismatch && principal !== null) {
      taskHash = err.idHash;
      records.push(
        ownerMismatchRecord('task.owner_mismatch', err.idHash, request, { caller, principal, now, decisionId }),
      );
    }
  }
  if (!allow && reasons.length === 0)
    reasons = [toReason(new PolicyDenied('the policy denied the request without a reason'))];
  const decision: Decision = {
    decision_id: decisionId,
    allow,
    reasons,
    obligations,
    visible_tools: allow ? visible : null,
    policy: { revision: engine?.revision ?? null },
    // Step-up: only a deny names the scopes that would lift it.
    ...(!allow && requiredScopes.length > 0 ? { required_scopes: requiredScopes } : {}),
    ...(allow && requestState !== null ? { request_state: requestState } : {}),
    ...(allow && handleResult !== null ? { handle_result: handleResult } : {}),
    ...(allow && upstreamIdentity !== null ? { upstream_identity: upstreamIdentity } : {}),
    ...(!allow && approval !== null ? { approval } : {}),
  };
  // A session that failed its check still names its hash in the record (hashed once).
  if (sessionHash === null && request.session !== undefined) sessionHash = hashSessionId(request.session);
  records.push(
    decisionRecord(decision, unfit === null ? request : recordable(request), {
      caller,
      principal,
      sessionHash,
      handleHash,
      taskHash,
      stateHash,
      shared,
      upstreamAudience: upstreamIdentity === null ? null : (deps.upstreamIdentity?.audiences[request.server] ?? null),
      now,
      mask: deps.mask,
    }),
  );
  let answer = decision;
  try {
    for (const record of records) await deps.audit.append(record);
  } catch (err) {
    const reason = toReason(err instanceof AuditUnavailable ? err : new AuditUnavailable('the audit sink failed'));
    answer = {
      decision_id: decision.decision_id,
      allow: false,
      reasons: [reason],
      obligations: {},
      visible_tools: null,
      policy: decision.policy,
    };
  }
  deps.observe?.decision(answer, (performance.now() - started) / 1000);
  return answer;
}

/** Why the request cannot be decided (or recorded): its MCP part and server, deep. */
function requestProblem(request: DecideRequest): string | null {
  return argumentsProblem({ server: request.server, mcp: request.mcp });
}

/** What of a request that could not be decided can be recorded: its names, made well-formed; no arguments. */
function recordable(request: DecideRequest): DecideRequest {
  const text = (value: unknown) => (typeof value === 'string' ? value.toWellFormed() : undefined);
  const { mcp } = request;
  return {
    server: text(request.server) ?? '',
    mcp: {
      method: text(mcp.method) ?? '',
      params: { name: text(mcp.params?.name), uri: text(mcp.params?.uri) },
      protocol_version: text(mcp.protocol_version),
    },
  };
}

/** Who asked, about which state, when, and how arguments are masked: what a decision record is written from. */
interface DecisionContext {
  readonly caller: Caller;
  readonly principal: Principal | null;
  readonly sessionHash: string | null;
  readonly handleHash: string | null;
  readonly taskHash: string | null;
  readonly stateHash: string | null;
  /** How shared the principal is, when it is tracked. */
  readonly shared: SharedUse | null;
  /** The audience of the identity assertion the decision carries, if any. */
  readonly upstreamAudience: string | null;
  readonly now: number;
  readonly mask: MaskRules;
}

function decisionRecord(decision: Decision, request: DecideRequest, context: DecisionContext): AuditRecord {
  const { caller, principal, sessionHash, handleHash, taskHash, stateHash, shared, upstreamAudience, now, mask } =
    context;
  const { mcp } = request;
  return auditRecord('decision', now, caller.id, {
    decision_id: decision.decision_id,
    principal: recordedPrincipal(principal),
    session: sessionHash,
    server: request.server,
    method: mcp.method,
    tool: toolOf(mcp),
    allow: decision.allow,
    reasons: decision.reasons,
    policy_revision: decision.policy.revision,
    input: {
      method: mcp.method,
      tool: toolOf(mcp),
      arguments: mcp.params?.arguments === undefined ? null : maskArguments(mcp.params.arguments, mask),
      uri: mcp.params?.uri ?? null,
      protocol_version: mcp.protocol_version ?? null,
      client: mcp.client ?? null,
    },
    ...detailOf(
      { handle: handleHash, task: taskHash, request_state: stateHash, upstream_identity: upstreamAudience },
      principal,
      shared,
    ),
  });
}

/**
 * The record's `detail`: the state handle, task and request state presented (by hash),
 * the audience of the identity assertion signed for the upstream (its `jti` is the
 * decision id), and the roles and scopes the token asserted that its issuer may not
 * (`identity.issuers[].roles` / `scopes`), dropped before the policy saw them — recorded,
 * so an incident review sees who tried to assert what; and, for a shared principal, how
 * it was used (`shared`).
 */
function detailOf(
  state: Readonly<Record<'handle' | 'task' | 'request_state' | 'upstream_identity', string | null>>,
  principal: Principal | null,
  shared: SharedUse | null,
): { detail?: Record<string, unknown> } {
  const detail: Record<string, unknown> = {};
  if (shared?.shared === true) detail.shared = usageOf(shared);
  for (const [name, hash] of Object.entries(state)) if (hash !== null) detail[name] = hash;
  if (principal !== null && principal.dropped_roles.length > 0) detail.dropped_roles = principal.dropped_roles;
  if (principal !== null && principal.dropped_scopes.length > 0) detail.dropped_scopes = principal.dropped_scopes;
  return Object.keys(detail).length === 0 ? {} : { detail };
}

/** Who caused a security event of a decision, and when. */
interface EventContext {
  readonly caller: Caller;
  readonly principal: Principal;
  readonly now: number;
  readonly decisionId: string;
}

/** A security event of a decision: the principal and the request it came with, plus `fields`. */
function eventRecord(
  kind: AuditKind,
  request: DecideRequest,
  context: EventContext,
  fields: Pick<AuditRecord, 'session' | 'allow' | 'detail'>,
): AuditRecord {
  const { caller, principal, now, decisionId } = context;
  return auditRecord(kind, now, caller.id, {
    decision_id: decisionId,
    principal: recordedPrincipal(principal),
    server: request.server,
    method: request.mcp.method,
    tool: toolOf(request.mcp),
    ...fields,
  });
}

/** The event of a principal becoming shared: used from many clients, workloads or chains (docs/identity.md). */
function sharedRecord(request: DecideRequest, context: EventContext, use: SharedUse): AuditRecord {
  return eventRecord('principal.shared', request, context, {
    session: null,
    allow: null,
    detail: { usage: usageOf(use) },
  });
}

/** The security event of a replay: a principal presented state (a session, a handle, a task) it does not own. */
function ownerMismatchRecord(
  kind: 'session.owner_mismatch' | 'task.owner_mismatch' | 'handle.owner_mismatch' | 'request_state.owner_mismatch',
  idHash: string,
  request: DecideRequest,
  context: EventContext,
): AuditRecord {
  return eventRecord(kind, request, context, { session: idHash, allow: false });
}
