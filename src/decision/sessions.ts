import { type AuditKind, auditRecord, recordedPrincipal, type AuditRecord } from '../audit/record.ts';
import {
  AuditUnavailable,
  InvalidRequest,
  SessionExpired,
  SessionForbidden,
  SessionNotGranted,
  SessionRevoked,
  SessionUnknown,
  toReason,
} from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import { checkSession, ownedBy, ownerOf } from '../session/check.ts';
import { hashSessionId, isWellFormedSessionId, kindOfId, newSessionId } from '../session/ids.ts';
import { isExpired, type SessionFilter, type SessionKind, type SessionRecord } from '../session/record.ts';
import { argumentsProblem } from './arguments.ts';
import type { CoreDeps } from './deps.ts';
import { buildPolicyInput } from './policy-input.ts';
import { assertNotRevoked, lookupFor, recordRevocation } from './principal-revocation.ts';
import type { Caller, CreateSessionRequest, SessionView, WidenRequest } from './types.ts';

/**
 * Creates a session (or state handle) for the verified principal, with the scope and
 * lifetimes the `mcp/session/grant` entrypoint allows, capped by the configured maxima.
 * Throws coded errors: `invalid_request`, identity failures, `session_not_granted`,
 * `audit_unavailable`.
 */
export async function createSession(
  deps: CoreDeps,
  request: CreateSessionRequest,
  caller: Caller,
): Promise<SessionView> {
  // Code in process hands objects, not JSON: the context is stored, given to every later
  // decision's policy and recorded, so it must be plain JSON data as on the HTTP path.
  const unfit = argumentsProblem({ server: request.server, tools: request.tools ?? null, context: request.context });
  if (unfit !== null) throw new InvalidRequest(unfit);
  const now = deps.clock();
  const engine = deps.policy.get();
  const principal = await deps.verifier.identify(request, request.server);
  await assertNotRevoked(deps, lookupFor(principal, request.token), now);
  const kind = request.kind ?? 'mcp-session';
  const grant = engine.grant(
    buildPolicyInput({
      mcp: { method: 'session/create' },
      principal,
      session: null,
      server: request.server,
      caller,
      now,
      tools: request.tools ?? null,
    }),
  );
  if (!grant.allow || grant.scope.length === 0) {
    const reasons =
      grant.reasons.length > 0 ? grant.reasons : [{ code: 'no_tools', message: 'no tool may be granted' }];
    throw new SessionNotGranted('the policy refused the session', reasons);
  }
  const ttlMs = Math.min(grant.ttl_seconds, deps.limits.maxTtlSeconds) * 1000;
  const idleMs = Math.min(grant.idle_seconds, deps.limits.maxIdleSeconds, grant.ttl_seconds) * 1000;
  const id = newSessionId(kind);
  const record: SessionRecord = {
    id_hash: hashSessionId(id),
    kind,
    owner: ownerOf(principal),
    created_by: caller.id,
    server: request.server,
    parent: null,
    scope: [...new Set(grant.scope)].sort(),
    context: request.context ?? {},
    created_at: now,
    last_seen_at: now,
    idle_expires_at: now + idleMs,
    expires_at: now + ttlMs,
    revoked_at: null,
    version: 1,
  };
  await deps.sessions.insert(record);
  try {
    await deps.audit.append(
      sessionRecord(
        'session.created',
        record,
        { caller, principal, now, revision: engine.revision },
        {
          scope: record.scope,
          kind,
          expires_at: new Date(record.expires_at).toISOString(),
          idle_seconds: idleMs / 1000,
        },
      ),
    );
  } catch {
    // Unaudited state must not live on: take the session back before refusing.
    await deps.sessions.revoke(record.id_hash, now);
    throw new AuditUnavailable('the audit sink did not accept the session');
  }
  return { id, ...viewOf(record) };
}

/**
 * Widens a session's scope. A widening is a fresh authorization: the owner's token is
 * verified again, the session checked as on every request, and `mcp/session/grant` asked
 * with `session/widen`. An unaudited widening does not live on: if the record is
 * refused, the session is revoked. Throws coded errors (403 `session_not_granted`).
 */
export async function widenSession(deps: CoreDeps, request: WidenRequest, caller: Caller): Promise<SessionView> {
  const now = deps.clock();
  const engine = deps.policy.get();
  const current = await findForCaller(deps, request.id, caller);
  const principal = await deps.verifier.identify(request, current.server);
  await assertNotRevoked(deps, lookupFor(principal, request.token), now);
  const session = checkSession(current, { principal, server: current.server, tool: null, now, kind: current.kind });
  const grant = engine.grant(
    buildPolicyInput({
      mcp: { method: 'session/widen' },
      principal,
      session,
      server: session.server,
      caller,
      now,
      tools: request.add,
    }),
  );
  if (!grant.allow)
    throw new SessionNotGranted('the policy refused the widening', grant.reasons, grant.required_scopes);
  const widened = await deps.sessions.addScope(session.id_hash, grant.scope, now);
  // Revoked or expired between the check and the update: the widening did not happen.
  if (widened === undefined) throw new SessionUnknown('the session is unknown');
  if (widened.revoked_at !== null) throw new SessionRevoked('the session was revoked');
  if (isExpired(widened, now)) throw new SessionExpired('the session has expired');
  try {
    await deps.audit.append(
      sessionRecord(
        'session.widened',
        widened,
        { caller, principal, now, revision: engine.revision },
        {
          added: request.add,
          scope: widened.scope,
          previous_scope: session.scope,
        },
      ),
    );
  } catch {
    await deps.sessions.revoke(widened.id_hash, now);
    throw new AuditUnavailable('the audit sink did not accept the widening; the session was revoked');
  }
  return viewOf(widened);
}

/** The record a revocation of each kind of bound state writes. */
const REVOKED: Readonly<Record<SessionKind, AuditKind>> = {
  'mcp-session': 'session.revoked',
  'state-handle': 'handle.revoked',
  'upstream-handle': 'handle.revoked',
  task: 'task.revoked',
};

/**
 * Revokes every live session of a subject, a client or a server (admin), and the other
 * bound state (tasks, handles) it owns. Each gets its own record: `session.revoked`,
 * `task.revoked` or `handle.revoked`.
 */
export async function revokeSessions(deps: CoreDeps, filter: SessionFilter, caller: Caller): Promise<SessionView[]> {
  const now = deps.clock();
  const revoked = await deps.sessions.revokeWhere(filter, now);
  for (const record of revoked) {
    await deps.audit
      .append(
        sessionRecord(
          REVOKED[record.kind],
          record,
          { caller, principal: null, now, revision: deps.policy.revision },
          {
            by: { caller: caller.id, role: caller.role, principal: null },
            bulk: filter,
          },
        ),
      )
      .catch(() => {
        throw new AuditUnavailable('the audit sink did not accept a revocation; retry the bulk revoke');
      });
  }
  return revoked.map(viewOf);
}

/** Sessions matching a filter (admin), at most `limit`. */
export async function listSessions(deps: CoreDeps, filter: SessionFilter, limit: number): Promise<SessionView[]> {
  return (await deps.sessions.list(filter, limit)).map(viewOf);
}

/** Who asks for a revocation, beyond the caller: the client's principal, when known. */
export interface RevokeRequest {
  /** The session's id; or, for an admin that only knows it from a listing, its `id_hash`. */
  readonly id: string;
  readonly by_hash?: boolean | undefined;
  /** Why (an admin's note, ≤ 1024 characters), kept in the audit record and the owner's rule. */
  readonly note?: string | undefined;
  readonly token?: string | undefined;
  readonly agent_token?: string | undefined;
}

/**
 * Revokes a session. Allowed to the caller that created it and to admins; idempotent.
 * An optional token records which principal asked; a token that fails verification is
 * recorded as such but does not stop a revocation (it only ever removes access).
 *
 * An admin's revocation of a live session also revokes its owner (a subject rule for the
 * owner's issuer, subject and client) unless `session.admin_revoke` is `session`, so the
 * same token cannot go on in the stateless era. The owner ending its own session (its
 * token given) never does, nor does an enforcement point acting for a client.
 */
export async function revokeSession(deps: CoreDeps, request: RevokeRequest, caller: Caller): Promise<SessionView> {
  const now = deps.clock();
  const current = await findForCaller(deps, request.id, caller, request.by_hash === true);
  const idHash = current.id_hash;
  let requestedBy: Principal | null = null;
  let tokenProblem: string | null = null;
  if (request.token !== undefined) {
    try {
      requestedBy = await deps.verifier.identify(request, current.server);
    } catch (err) {
      tokenProblem = toReason(err).code;
    }
  }
  if (current.revoked_at !== null) return viewOf(current);
  if (cascades(deps, caller, current, requestedBy)) {
    const { iss, sub, client_id } = current.owner;
    await recordRevocation(deps, { selector: 'subject', iss, sub, client_id }, caller, now, {
      note: request.note ?? null,
      cause: 'session_revoked_by_admin',
      session: idHash,
    });
  }
  const revoked = (await deps.sessions.revoke(idHash, now)) ?? current;
  // The revocation has happened; a failing audit sink answers 503 so the PEP retries,
  // and the retry is recorded (revoke is idempotent but the audit line is not lost).
  await deps.audit
    .append(
      sessionRecord(
        REVOKED[revoked.kind],
        revoked,
        { caller, principal: requestedBy, now, revision: deps.policy.revision },
        {
          by: { caller: caller.id, role: caller.role, principal: requestedBy?.sub ?? null },
          token_problem: tokenProblem,
          ...(request.note === undefined ? {} : { note: request.note }),
        },
      ),
    )
    .catch(() => {
      throw new AuditUnavailable('the audit sink did not accept the revocation');
    });
  return viewOf(revoked);
}

/**
 * Records that an admin (the console's reviewer) looked at a session and left it as it is:
 * `session.reviewed`, with the note. Changes nothing in the store; the review queue reads
 * these records to know what was seen. Throws `session_unknown` for an unknown hash.
 */
export async function reviewSession(
  deps: CoreDeps,
  request: { readonly id_hash: string; readonly note?: string | undefined },
  caller: Caller,
): Promise<SessionView> {
  const record = await findForCaller(deps, request.id_hash, caller, true);
  const now = deps.clock();
  const detail = { by: { caller: caller.id, role: caller.role }, ...(request.note ? { note: request.note } : {}) };
  await deps.audit
    .append(
      sessionRecord(
        'session.reviewed',
        record,
        { caller, principal: null, now, revision: deps.policy.revision },
        detail,
      ),
    )
    .catch(() => {
      throw new AuditUnavailable('the audit sink did not accept the review');
    });
  return viewOf(record);
}

/** Whether revoking `record` for `caller` also revokes its owner (see {@link revokeSession}). */
function cascades(deps: CoreDeps, caller: Caller, record: SessionRecord, requestedBy: Principal | null): boolean {
  if (caller.role !== 'admin' || (deps.adminRevoke ?? 'principal') === 'session') return false;
  return requestedBy === null || !ownedBy(record.owner, requestedBy);
}

/** A session by id, if this caller may act on it: the caller that created it, or an admin. */
async function findForCaller(deps: CoreDeps, id: string, caller: Caller, byHash = false): Promise<SessionRecord> {
  // By hash for admins only: a PEP holds the id itself, and a hash must not stand in for it.
  const idHash = byHash ? (caller.role === 'admin' && /^[0-9a-f]{64}$/.test(id) ? id : null) : idHashOf(id);
  const record = idHash === null ? undefined : await deps.sessions.get(idHash);
  if (record === undefined) throw new SessionUnknown('the session is unknown');
  if (caller.role !== 'admin' && caller.id !== record.created_by) {
    throw new SessionForbidden('only the caller that created the session, or an admin, may act on it');
  }
  return record;
}

function idHashOf(id: string): string | null {
  return kindOfId(id) === null ? null : hashSessionId(id);
}

/** Reads a session by its id, or by the sha256 hex of its id as the audit trail shows it. */
export async function readSession(deps: CoreDeps, idOrHash: string): Promise<SessionView> {
  const idHash = /^[0-9a-f]{64}$/.test(idOrHash)
    ? idOrHash
    : isWellFormedSessionId(idOrHash)
      ? hashSessionId(idOrHash)
      : undefined;
  const record = idHash === undefined ? undefined : await deps.sessions.get(idHash);
  if (record === undefined) throw new SessionUnknown('the session is unknown');
  return viewOf(record);
}

/** The API view of a record (no id: only its hash is known after creation). */
export function viewOf(record: SessionRecord): SessionView {
  return {
    id_hash: record.id_hash,
    kind: record.kind,
    owner: { ...record.owner, actor: record.owner.actor ?? [] },
    server: record.server,
    scope: record.scope,
    created_at: new Date(record.created_at).toISOString(),
    expires_at: new Date(record.expires_at).toISOString(),
    idle_expires_at: new Date(record.idle_expires_at).toISOString(),
    revoked_at: record.revoked_at === null ? null : new Date(record.revoked_at).toISOString(),
  };
}

/** Who changed a session, when, under which policy revision. */
interface SessionChange {
  readonly caller: Caller;
  readonly principal: Principal | null;
  readonly now: number;
  readonly revision: string | null;
}

function sessionRecord(
  kind: AuditRecord['kind'],
  record: SessionRecord,
  change: SessionChange,
  detail: Record<string, unknown>,
): AuditRecord {
  const { caller, principal, now, revision } = change;
  // A change no principal made (an admin's) still names the chain the state belongs to.
  const chain = principal === null && (record.owner.actor ?? []).length > 0;
  return auditRecord(kind, now, caller.id, {
    principal: recordedPrincipal(principal),
    session: record.id_hash,
    server: record.server,
    policy_revision: revision,
    detail: chain ? { ...detail, owner: recordedPrincipal(record.owner) } : detail,
  });
}
