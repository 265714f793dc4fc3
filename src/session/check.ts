import {
  SessionExpired,
  SessionKindMismatch,
  SessionOwnerMismatch,
  SessionRevoked,
  SessionServerMismatch,
  SessionUnknown,
  ToolNotInSessionScope,
} from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import { isExpired, type ActorRef, type SessionKind, type SessionOwner, type SessionRecord } from './record.ts';

/** What a request wants to do with a session. */
export interface SessionUse {
  readonly principal: Principal;
  readonly server: string;
  /** The tool called, when the method calls one. */
  readonly tool: string | null;
  readonly now: number;
  /** The kind the request presents it as. */
  readonly kind: SessionKind;
}

/**
 * Checks a session against the *current* request, in a fixed order: it exists, it is
 * of the kind presented, owned by this principal, for this server, not revoked, not
 * expired, and the tool is in scope. Ownership comes first so that a replay by another principal is always reported
 * as such, whatever state the session is in. Throws the coded error of the first failure.
 */
export function checkSession(record: SessionRecord | undefined, use: SessionUse): SessionRecord {
  if (record === undefined) throw new SessionUnknown('the session is unknown');
  if (record.kind !== use.kind) throw new SessionKindMismatch(`a ${record.kind} was presented as a ${use.kind}`);
  if (!ownedBy(record.owner, use.principal)) {
    throw new SessionOwnerMismatch('the session belongs to another principal', record.id_hash);
  }
  if (record.server !== use.server) throw new SessionServerMismatch('the session was created for another server');
  if (record.revoked_at !== null) throw new SessionRevoked('the session was revoked');
  if (isExpired(record, use.now)) throw new SessionExpired('the session has expired');
  if (use.tool !== null && !record.scope.includes(use.tool)) {
    throw new ToolNotInSessionScope(`tool ${use.tool} is not in the session's scope`);
  }
  return record;
}

/** The owner fields a principal would have on a session it creates, its actor chain included. */
export function ownerOf(principal: Principal): SessionOwner {
  return {
    iss: principal.iss,
    sub: principal.sub,
    client_id: principal.client_id,
    spiffe_id: principal.spiffe_id,
    actor: principal.actor.map(({ iss, sub, client_id, spiffe_id }) => ({ iss, sub, client_id, spiffe_id })),
  };
}

/**
 * Whether `principal` is the owner: issuer, subject, client id and SPIFFE id all equal,
 * and the same actor chain — the subject itself, or another agent acting for it, is not
 * the owner of what an agent created for it (docs/identity.md, "Delegation").
 */
export function ownedBy(owner: SessionOwner, principal: Principal): boolean {
  return (
    owner.iss === principal.iss &&
    owner.sub === principal.sub &&
    owner.client_id === principal.client_id &&
    owner.spiffe_id === principal.spiffe_id &&
    sameChain(owner.actor ?? [], principal.actor)
  );
}

function sameChain(owned: readonly ActorRef[], presented: readonly ActorRef[]): boolean {
  return (
    owned.length === presented.length &&
    owned.every((a, i) => {
      const b = presented[i]!;
      return a.iss === b.iss && a.sub === b.sub && a.client_id === b.client_id && a.spiffe_id === b.spiffe_id;
    })
  );
}
