import type { AuditRecord } from '../audit/record.ts';
import { AuditUnavailable, SessionForbidden, SessionNotGranted, SessionUnknown, toReason } from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import { ownerOf } from '../session/check.ts';
import { hashSessionId, isWellFormedSessionId, newSessionId } from '../session/ids.ts';
import type { SessionRecord } from '../session/record.ts';
import type { CoreDeps } from './deps.ts';
import { buildPolicyInput } from './policy-input.ts';
import type { Caller, CreateSessionRequest, SessionView } from './types.ts';

/**
 * Creates a session (or state handle) for the verified principal, with the scope and
 * lifetimes the `mcp/session/grant` entrypoint allows, capped by the configured maxima.
 * Throws coded errors: identity failures, `session_not_granted`, `audit_unavailable`.
 */
export async function createSession(deps: CoreDeps, request: CreateSessionRequest, caller: Caller): Promise<SessionView> {
  const now = deps.clock();
  const engine = deps.policy.get();
  const principal = await deps.verifier.verify(request.token, request.server);
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
    const reasons = grant.reasons.length > 0 ? grant.reasons : [{ code: 'no_tools', message: 'no tool may be granted' }];
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
      sessionRecord('session.created', record, caller, principal, now, engine.revision, {
        scope: record.scope,
        kind,
        expires_at: new Date(record.expires_at).toISOString(),
        idle_seconds: idleMs / 1000,
      }),
    );
  } catch {
    // Unaudited state must not live on: take the session back before refusing.
    await deps.sessions.revoke(record.id_hash, now);
    throw new AuditUnavailable('the audit sink did not accept the session');
  }
  return { id, ...viewOf(record) };
}

/** Who asks for a revocation, beyond the caller: the client's principal, when known. */
export interface RevokeRequest {
  readonly id: string;
  readonly token?: string | undefined;
}

/**
 * Revokes a session. Allowed to the caller that created it and to admins; idempotent.
 * An optional token records which principal asked; a token that fails verification is
 * recorded as such but does not stop a revocation (it only ever removes access).
 */
export async function revokeSession(deps: CoreDeps, request: RevokeRequest, caller: Caller): Promise<SessionView> {
  const now = deps.clock();
  if (!isWellFormedSessionId(request.id)) throw new SessionUnknown('the session is unknown');
  const idHash = hashSessionId(request.id);
  const current = await deps.sessions.get(idHash);
  if (current === undefined) throw new SessionUnknown('the session is unknown');
  if (caller.role !== 'admin' && caller.id !== current.created_by) {
    throw new SessionForbidden('only the caller that created the session, or an admin, may revoke it');
  }
  let requestedBy: Principal | null = null;
  let tokenProblem: string | null = null;
  if (request.token !== undefined) {
    try {
      requestedBy = await deps.verifier.verify(request.token, current.server);
    } catch (err) {
      tokenProblem = toReason(err).code;
    }
  }
  if (current.revoked_at !== null) return viewOf(current);
  const revoked = (await deps.sessions.revoke(idHash, now)) ?? current;
  // The revocation has happened; a failing audit sink answers 503 so the PEP retries,
  // and the retry is recorded (revoke is idempotent but the audit line is not lost).
  await deps.audit
    .append(
      sessionRecord('session.revoked', revoked, caller, requestedBy, now, deps.policy.revision, {
        by: { caller: caller.id, role: caller.role, principal: requestedBy && requestedBy.sub },
        token_problem: tokenProblem,
      }),
    )
    .catch(() => {
      throw new AuditUnavailable('the audit sink did not accept the revocation');
    });
  return viewOf(revoked);
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
    owner: { ...record.owner },
    server: record.server,
    scope: record.scope,
    created_at: new Date(record.created_at).toISOString(),
    expires_at: new Date(record.expires_at).toISOString(),
    idle_expires_at: new Date(record.idle_expires_at).toISOString(),
    revoked_at: record.revoked_at === null ? null : new Date(record.revoked_at).toISOString(),
  };
}

function sessionRecord(
  kind: AuditRecord['kind'],
  record: SessionRecord,
  caller: Caller,
  principal: Principal | null,
  now: number,
  revision: string | null,
  detail: Record<string, unknown>,
): AuditRecord {
  return {
    v: 1,
    ts: new Date(now).toISOString(),
    kind,
    decision_id: null,
    caller: caller.id,
    principal: principal && { iss: principal.iss, sub: principal.sub, client_id: principal.client_id },
    session: record.id_hash,
    server: record.server,
    method: null,
    tool: null,
    allow: null,
    reasons: [],
    policy_revision: revision,
    detail,
  };
}
