import { auditRecord, recordedPrincipal } from '../audit/record.ts';
import {
  AuditUnavailable,
  HandleClosed,
  HandleOwnerMismatch,
  HandleUnknown,
  InvalidRequest,
  TaskClosed,
  TaskOwnerMismatch,
  TaskUnknown,
  type WardenError,
} from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import { checkSession, ownedBy, ownerOf } from '../session/check.ts';
import { boundStateHash, hashSessionId, kindOfId } from '../session/ids.ts';
import { isExpired, type SessionRecord } from '../session/record.ts';
import type { CoreDeps } from './deps.ts';
import { assertNotRevoked, lookupFor } from './principal-revocation.ts';
import type { BindStateRequest, BoundStateKind, BoundStateView, Caller } from './types.ts';

/** The methods that name one task by `params.taskId` (MCP 2025-11-25, and the 2026-07-28 tasks extension). */
export const TASK_METHODS: ReadonlySet<string> = new Set(['tasks/get', 'tasks/result', 'tasks/cancel', 'tasks/update']);

/** Longest upstream value bound; an upstream's id is opaque but not unbounded. */
const MAX_VALUE_LENGTH = 1024;

/** What each kind of upstream-minted state is stored as, how it is named, and the codes of its refusals. */
const KINDS: Readonly<
  Record<
    BoundStateKind,
    {
      readonly record: 'task' | 'upstream-handle';
      readonly audit: {
        readonly bound: 'task.bound' | 'handle.bound';
        readonly replay: 'task.owner_mismatch' | 'handle.owner_mismatch';
      };
      readonly unknown: new (message: string) => WardenError;
      readonly mismatch: new (message: string, idHash: string) => WardenError & { readonly idHash: string };
      readonly closed: new (message: string) => WardenError;
    }
  >
> = {
  task: {
    record: 'task',
    audit: { bound: 'task.bound', replay: 'task.owner_mismatch' },
    unknown: TaskUnknown,
    mismatch: TaskOwnerMismatch,
    closed: TaskClosed,
  },
  handle: {
    record: 'upstream-handle',
    audit: { bound: 'handle.bound', replay: 'handle.owner_mismatch' },
    unknown: HandleUnknown,
    mismatch: HandleOwnerMismatch,
    closed: HandleClosed,
  },
};

/**
 * Binds state the upstream minted for a request — a task it created, a state handle its
 * tool returned — to the principal that made the request (and the session it was made
 * in): from now on only that principal can present it, and only while the session lives.
 * Idempotent for the same owner; a value already bound to another principal is refused
 * (an upstream that hands one id to two principals) and audited as a replay. The record
 * expires with its session, or after the longest session TTL; use does not extend it.
 */
export async function bindState(deps: CoreDeps, request: BindStateRequest, caller: Caller): Promise<BoundStateView> {
  const now = deps.clock();
  const { kind, value } = request;
  if (value.length === 0 || value.length > MAX_VALUE_LENGTH || !value.isWellFormed()) {
    throw new InvalidRequest(`value must be 1 to ${MAX_VALUE_LENGTH} well-formed characters`);
  }
  const principal = await deps.verifier.identify(request, request.server);
  await assertNotRevoked(deps, lookupFor(principal, request.token), now);
  const parent =
    request.session === undefined
      ? null
      : await liveSession(deps, request.session, { principal, server: request.server, now });
  const spec = KINDS[kind];
  const idHash = boundStateHash(spec.record, request.server, value);
  const cap = now + deps.limits.maxTtlSeconds * 1000;
  const expiresAt = Math.min(cap, parent?.expires_at ?? cap);
  const record: SessionRecord = {
    id_hash: idHash,
    kind: spec.record,
    owner: ownerOf(principal),
    created_by: caller.id,
    server: request.server,
    parent: parent?.id_hash ?? null,
    scope: [],
    context: {},
    created_at: now,
    last_seen_at: now,
    idle_expires_at: expiresAt,
    expires_at: expiresAt,
    revoked_at: null,
    version: 1,
  };
  const existing = await deps.sessions.get(idHash);
  if (existing !== undefined) return rebound(deps, existing, principal, { request, caller, now });
  try {
    await deps.sessions.insert(record);
  } catch (err) {
    // Bound concurrently (the same answer relayed twice): the record in place decides.
    const raced = await deps.sessions.get(idHash);
    if (raced === undefined) throw err;
    return rebound(deps, raced, principal, { request, caller, now });
  }
  try {
    await deps.audit.append(
      auditRecord(spec.audit.bound, now, caller.id, {
        principal: recordedPrincipal(principal),
        session: record.parent,
        server: request.server,
        detail: { [kind]: idHash, expires_at: new Date(expiresAt).toISOString() },
      }),
    );
  } catch {
    // Not recorded, not bound: state nobody can account for must not be usable.
    await deps.sessions.revoke(idHash, now).catch(() => undefined);
    throw new AuditUnavailable(`the audit sink failed; the ${kind} was not bound`);
  }
  return viewOf(record);
}

/**
 * The bound state a request presents (a task by `params.taskId`, an upstream handle in a
 * tool argument), checked against the current request: bound for this server, owned by
 * the principal, live, and its session live. Throws the coded error of the first
 * failure; ownership first, so that a replay is reported as such.
 */
export async function loadBound(
  deps: CoreDeps,
  kind: BoundStateKind,
  use: { readonly server: string; readonly principal: Principal; readonly now: number },
  value: unknown,
): Promise<SessionRecord> {
  const spec = KINDS[kind];
  if (typeof value !== 'string' || value.length === 0) throw new spec.unknown(`the request names no ${kind}`);
  const idHash = boundStateHash(spec.record, use.server, value);
  const record = await deps.sessions.get(idHash);
  if (record === undefined || record.kind !== spec.record) throw new spec.unknown(`the ${kind} is unknown`);
  if (!ownedBy(record.owner, use.principal))
    throw new spec.mismatch(`the ${kind} belongs to another principal`, idHash);
  if (record.revoked_at !== null || isExpired(record, use.now)) throw new spec.closed(`the ${kind} is closed`);
  if (record.parent !== null) {
    const parent = await deps.sessions.get(record.parent);
    if (parent === undefined || parent.revoked_at !== null || isExpired(parent, use.now)) {
      throw new spec.closed(`the session the ${kind} was bound in has ended`);
    }
  }
  return record;
}

/** The task ids among `candidates` (a `tasks/list` answer) that are the principal's own, live ones. */
export async function ownTasks(
  deps: CoreDeps,
  use: { readonly server: string; readonly principal: Principal; readonly now: number },
  candidates: readonly string[],
): Promise<string[]> {
  const refusals = [TaskUnknown, TaskOwnerMismatch, TaskClosed];
  const checked = await Promise.all(
    candidates.map((id) =>
      loadBound(deps, 'task', use, id).then(
        () => id,
        (err: unknown) => {
          if (refusals.some((refusal) => err instanceof refusal)) return null;
          throw err;
        },
      ),
    ),
  );
  return checked.filter((id): id is string => id !== null);
}

/** The session state is bound in: the principal's, for this server, live. */
async function liveSession(
  deps: CoreDeps,
  id: string,
  use: { readonly principal: Principal; readonly server: string; readonly now: number },
): Promise<SessionRecord> {
  const record = kindOfId(id) === 'mcp-session' ? await deps.sessions.get(hashSessionId(id)) : undefined;
  return checkSession(record, { ...use, tool: null, kind: 'mcp-session' });
}

async function rebound(
  deps: CoreDeps,
  existing: SessionRecord,
  principal: Principal,
  context: { readonly request: BindStateRequest; readonly caller: Caller; readonly now: number },
): Promise<BoundStateView> {
  if (ownedBy(existing.owner, principal)) return viewOf(existing);
  const { request, caller, now } = context;
  const spec = KINDS[request.kind];
  await deps.audit.append(
    auditRecord(spec.audit.replay, now, caller.id, {
      principal: recordedPrincipal(principal),
      session: existing.id_hash,
      server: request.server,
      allow: false,
      detail: { [request.kind]: existing.id_hash, binding: true },
    }),
  );
  throw new spec.mismatch(`the ${request.kind} is bound to another principal`, existing.id_hash);
}

function viewOf(record: SessionRecord): BoundStateView {
  return { id_hash: record.id_hash, expires_at: new Date(record.expires_at).toISOString() };
}
