import { decodeJwt } from 'jose';
import { auditRecord, recordedPrincipal, type AuditRecord } from '../audit/record.ts';
import type { CoreDeps } from './deps.ts';
import { assertNotRevoked, lookupFor } from './principal-revocation.ts';
import type { Caller } from './types.ts';
import {
  ApprovalClosed,
  ApprovalForbidden,
  ApprovalUnknown,
  AuditUnavailable,
  InvalidRequest,
  ObligationUnsupported,
} from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import { ownerMatches, type SessionFilter } from '../session/record.ts';
import { approvalUrl, type ApprovalDeps } from '../approval/deps.ts';
import { approvalIdHash, isApprovalId } from '../approval/ids.ts';
import type { Approvers } from '../approval/obligation.ts';
import { stateAt, type ApprovalActor, type ApprovalQuery, type ApprovalRecord } from '../approval/record.ts';

/** What an approver sends: its own token, grant or deny, and an optional note. */
export interface ApprovalDecisionRequest {
  readonly id: string;
  readonly token?: string | undefined;
  readonly decision: 'grant' | 'deny';
  readonly note?: string | undefined;
}

/** Longest note kept. */
export const MAX_NOTE = 1024;

/**
 * An approver decides a pending request. The approver is the principal of its own
 * verified token (audience: the request's server), not the API caller: an admin key alone
 * cannot approve. It must be one the obligation names and, unless the obligation says
 * `self`, not the requester (four eyes); for `self`, the requester must have signed in
 * again after the call was parked. One decision wins; a second gets `approval_closed`.
 */
export async function decideApproval(
  deps: CoreDeps,
  request: ApprovalDecisionRequest,
  caller: Caller,
): Promise<ApprovalRecord> {
  const approvals = required(deps.approvals);
  const now = deps.clock();
  const note = request.note ?? null;
  if (note !== null && (note.length > MAX_NOTE || !note.isWellFormed())) {
    throw new InvalidRequest(`note must be at most ${MAX_NOTE} well-formed characters`);
  }
  const record = await load(approvals, request.id);
  const approver = await deps.verifier.verify(request.token, record.server);
  await assertNotRevoked(deps, lookupFor(approver, request.token), now);
  const refusal = approverRefusal(record.obligation.approvers, approver, record, authTimeOf(request.token));
  if (refusal !== null) throw new ApprovalForbidden(refusal);
  const decidedBy = actorOf(approver, caller);
  const grantTtl = Math.min(
    record.obligation.grant_ttl_seconds ?? approvals.grantTtlSeconds,
    approvals.maxGrantTtlSeconds,
  );
  const grant = request.decision === 'grant';
  const decided = await approvals.store.transition(
    record.id_hash,
    {
      from: ['pending'],
      to: grant ? 'granted' : 'denied',
      when: 'live',
      set: {
        decided_at: now,
        decided_by: decidedBy,
        note,
        ...(grant ? { grant_expires_at: now + grantTtl * 1000 } : {}),
      },
    },
    now,
  );
  if (decided === undefined) throw closed(await approvals.store.get(record.id_hash), now);
  try {
    await deps.audit.append(decisionRecord(decided, approver, caller, now));
  } catch {
    // Not recorded, not granted: a grant nobody can account for must not be usable.
    await approvals.store
      .transition(
        decided.id_hash,
        { from: ['granted'], to: 'revoked', when: 'live', set: { revoked_at: now, revoked_by: decidedBy } },
        now,
      )
      .catch(() => undefined);
    throw new AuditUnavailable('the audit sink failed; the approval decision was not recorded');
  }
  return decided;
}

/**
 * Ends a pending request or an unused grant (admin), recorded as `approval.revoked`.
 * Revoking the session or the principal ends a grant too: its use is then refused before
 * the grant is looked at.
 */
export async function revokeApproval(
  deps: CoreDeps,
  id: string,
  caller: Caller,
  note?: string,
): Promise<ApprovalRecord> {
  const approvals = required(deps.approvals);
  const now = deps.clock();
  const record = await load(approvals, id);
  const by: ApprovalActor = { iss: null, sub: null, client_id: null, caller: caller.id };
  const revoked = await approvals.store.transition(
    record.id_hash,
    { from: ['pending', 'granted'], to: 'revoked', when: 'live', set: { revoked_at: now, revoked_by: by } },
    now,
  );
  if (revoked === undefined) throw closed(await approvals.store.get(record.id_hash), now);
  await deps.audit.append(revokedRecord(revoked, caller, now, { note: note ?? null }));
  return revoked;
}

/** Most live requests one principal revocation ends; the rule itself stops any use of the rest. */
const MAX_REVOKED_WITH_PRINCIPAL = 1000;

/**
 * Ends the live requests and grants of a revoked principal (`filter`: its issuer, subject,
 * client), each recorded as `approval.revoked`. Their use is refused by the rule anyway;
 * this keeps what the store shows (and an approver's queue) true.
 */
export async function revokeApprovalsOf(deps: CoreDeps, filter: SessionFilter, caller: Caller): Promise<number> {
  const approvals = deps.approvals;
  if (approvals === undefined) return 0;
  const now = deps.clock();
  const by: ApprovalActor = { iss: null, sub: null, client_id: null, caller: caller.id };
  let revoked = 0;
  for (const state of ['pending', 'granted'] as const) {
    const live = await approvals.store.list({ state, server: filter.server, limit: MAX_REVOKED_WITH_PRINCIPAL }, now);
    for (const record of live.filter((r) => ownerMatches(r.owner, filter))) {
      const ended = await approvals.store.transition(
        record.id_hash,
        { from: [state], to: 'revoked', when: 'live', set: { revoked_at: now, revoked_by: by } },
        now,
      );
      if (ended === undefined) continue;
      revoked += 1;
      await deps.audit.append(revokedRecord(ended, caller, now, { note: null, with_principal: true }));
    }
  }
  return revoked;
}

/** The `approval.revoked` record of `revoked`, ended by `caller`. */
function revokedRecord(revoked: ApprovalRecord, caller: Caller, now: number, detail: Record<string, unknown>) {
  return auditRecord('approval.revoked', now, caller.id, {
    principal: recordedPrincipal(revoked.owner),
    session: revoked.session,
    server: revoked.server,
    tool: revoked.tool,
    detail: { approval: revoked.id, binding: revoked.binding, ...detail },
  });
}

/** One request by id. */
export async function getApproval(deps: CoreDeps, id: string): Promise<ApprovalRecord> {
  return load(required(deps.approvals), id);
}

/** Requests by state at now (and server), newest first. */
export async function listApprovals(deps: CoreDeps, query: ApprovalQuery): Promise<ApprovalRecord[]> {
  return required(deps.approvals).store.list(query, deps.clock());
}

/** A request as the API shows it: its state at `now`, times as ISO strings. */
export function approvalView(deps: CoreDeps, record: ApprovalRecord) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: record.id,
    state: stateAt(record, deps.clock()),
    url: deps.approvals === undefined ? null : approvalUrl(deps.approvals, record.id),
    server: record.server,
    tool: record.tool,
    arguments: record.arguments,
    arguments_sha256: record.arguments_sha256,
    binding: record.binding,
    requester: record.owner,
    session: record.session,
    client: record.client,
    approvers: record.obligation.approvers,
    reason: record.obligation.reason ?? null,
    decision_id: record.decision_id,
    created_at: iso(record.created_at)!,
    expires_at: iso(record.expires_at)!,
    decided_at: iso(record.decided_at),
    decided_by: record.decided_by,
    note: record.note,
    grant_expires_at: iso(record.grant_expires_at),
    consumed_at: iso(record.consumed_at),
    consumed_by: record.consumed_by,
    revoked_at: iso(record.revoked_at),
    revoked_by: record.revoked_by,
  };
}

/**
 * Why `approver` may not decide `record`, or null when it may. An approval is a person's:
 * a token with an actor chain (an agent acting for the approver) decides nothing.
 */
export function approverRefusal(
  approvers: Approvers,
  approver: Principal,
  record: Pick<ApprovalRecord, 'owner' | 'created_at'>,
  authTime: number | null,
): string | null {
  if (approver.actor.length > 0) {
    const agent = approver.actor[0]!.sub;
    return `the token is ${agent} acting for ${approver.sub}: an approval needs the approver's own token`;
  }
  const requester = approver.iss === record.owner.iss && approver.sub === record.owner.sub;
  if (approvers === 'self') {
    if (!requester) return 'only the requester may confirm this call';
    // Re-authenticated: a sign-in after the call was parked, not a token the agent already held.
    if (authTime === null || authTime < Math.floor(record.created_at / 1000)) {
      return 'confirming needs a sign-in after the call was parked (the token has no later auth_time)';
    }
    return null;
  }
  if (requester) return 'the requester cannot approve its own call (separation of duties)';
  const groups = Array.isArray(approver.claims.groups) ? approver.claims.groups : [];
  const named =
    approvers.roles.some((role) => approver.roles.includes(role)) ||
    approvers.subjects.includes(approver.sub) ||
    approvers.groups.some((group) => groups.includes(group));
  return named ? null : 'the approver holds none of the roles, subjects or groups the obligation names';
}

/** The token's `auth_time` (seconds), once the token verified; null when it has none. */
function authTimeOf(token: string | undefined): number | null {
  if (token === undefined) return null;
  const value = decodeJwt(token).auth_time;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function actorOf(principal: Principal, caller: Caller): ApprovalActor {
  return { iss: principal.iss, sub: principal.sub, client_id: principal.client_id, caller: caller.id };
}

function decisionRecord(record: ApprovalRecord, approver: Principal, caller: Caller, now: number): AuditRecord {
  return auditRecord(record.state === 'granted' ? 'approval.granted' : 'approval.denied', now, caller.id, {
    principal: recordedPrincipal(approver),
    session: record.session,
    server: record.server,
    method: 'tools/call',
    tool: record.tool,
    allow: record.state === 'granted',
    detail: {
      approval: record.id,
      binding: record.binding,
      requester: recordedPrincipal(record.owner),
      note: record.note,
      ...(record.grant_expires_at === null
        ? {}
        : { grant_expires_at: new Date(record.grant_expires_at).toISOString() }),
    },
  });
}

async function load(approvals: ApprovalDeps, id: string): Promise<ApprovalRecord> {
  const record = isApprovalId(id) ? await approvals.store.get(approvalIdHash(id)) : undefined;
  if (record === undefined) throw new ApprovalUnknown('no approval request has this id');
  return record;
}

function closed(record: ApprovalRecord | undefined, now: number): ApprovalClosed {
  return new ApprovalClosed(`the approval request is ${record === undefined ? 'gone' : stateAt(record, now)}`);
}

function required(approvals: ApprovalDeps | undefined): ApprovalDeps {
  if (approvals === undefined) throw new ObligationUnsupported('this service keeps no approvals (approvals are off)');
  return approvals;
}
