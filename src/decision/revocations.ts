import type { SessionFilter } from '../session/record.ts';
import type { CoreDeps } from './deps.ts';
import { recordRevocation, revocationView, selectorOf } from './principal-revocation.ts';
import { revokeApprovalsOf } from './approvals.ts';
import { revokeSessions } from './sessions.ts';
import type { Caller, PrincipalSelector, RevocationFields, RevocationView, SessionView } from './types.ts';

/**
 * Revokes a principal (admin): records the rule (in force at once, on every replica, for
 * every era), then revokes every live session it covers (a subject or client rule; no
 * session records its token, so a token or jti rule revokes none, and needs not: every
 * request with that token is denied before its session is read). Audited as
 * `principal.revoked`, and each session as `session.revoked`. Throws `invalid_request`
 * naming the field unless exactly one selector is given.
 */
export async function revokePrincipal(
  deps: CoreDeps,
  fields: RevocationFields,
  caller: Caller,
): Promise<{ rule: RevocationView; revoked: number }> {
  const selector = selectorOf(fields);
  const rule = await recordRevocation(deps, selector, caller, deps.clock(), { note: fields.note ?? null });
  const filter = sessionsOf(selector);
  const sessions = filter === null ? [] : await revokeSessions(deps, filter, caller);
  if (filter !== null) await revokeApprovalsOf(deps, filter, caller);
  return { rule: revocationView(rule), revoked: sessions.length };
}

/**
 * `POST /v1/sessions/revoke` (admin): revokes the matching sessions and, when the filter
 * names a principal — a subject (any issuer), a client, or a subject through a client,
 * without a server — records that principal's rule first, so its requests without a
 * session (MCP 2026-07-28) stop too. A filter with a server ends sessions only.
 */
export async function revokeSessionsOfPrincipal(
  deps: CoreDeps,
  filter: SessionFilter,
  caller: Caller,
): Promise<{ sessions: SessionView[]; rule: RevocationView | null }> {
  const selector = principalOf(filter);
  const detail = { note: null, bulk: filter };
  const rule = selector === null ? null : await recordRevocation(deps, selector, caller, deps.clock(), detail);
  const sessions = await revokeSessions(deps, filter, caller);
  if (rule !== null) await revokeApprovalsOf(deps, filter, caller);
  return { sessions, rule: rule === null ? null : revocationView(rule) };
}

/** Rules in force now (admin), oldest first, at most `limit`. */
export async function listRevocations(deps: CoreDeps, limit: number): Promise<RevocationView[]> {
  return (await deps.sessions.listRevocations(deps.clock(), limit)).map(revocationView);
}

/** The sessions a rule covers, or null for a rule no session record can match. */
function sessionsOf(selector: PrincipalSelector): SessionFilter | null {
  switch (selector.selector) {
    case 'subject':
      return { iss: selector.iss ?? undefined, sub: selector.sub, client_id: selector.client_id ?? undefined };
    case 'client':
      return { client_id: selector.client_id };
    case 'token':
    case 'jti':
      return null;
  }
}

function principalOf(filter: SessionFilter): PrincipalSelector | null {
  if (filter.server !== undefined) return null;
  if (filter.sub !== undefined) {
    return { selector: 'subject', iss: filter.iss ?? null, sub: filter.sub, client_id: filter.client_id ?? null };
  }
  if (filter.client_id !== undefined) return { selector: 'client', client_id: filter.client_id };
  return null;
}
