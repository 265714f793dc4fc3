import { auditRecord, recordedPrincipal } from '../audit/record.ts';
import { AuditUnavailable, InvalidRequest, TaskClosed, TaskOwnerMismatch, TaskUnknown } from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import { checkSession, ownedBy, ownerOf } from '../session/check.ts';
import { boundStateHash, hashSessionId, kindOfId } from '../session/ids.ts';
import { isExpired, type SessionRecord } from '../session/record.ts';
import type { CoreDeps } from './deps.ts';
import { assertNotRevoked, lookupFor } from './principal-revocation.ts';
import type { BindTaskRequest, BoundTaskView, Caller } from './types.ts';

/** The methods that name one task by `params.taskId` (MCP 2025-11-25, and the 2026-07-28 tasks extension). */
export const TASK_METHODS: ReadonlySet<string> = new Set(['tasks/get', 'tasks/result', 'tasks/cancel', 'tasks/update']);

/** Longest task id bound; an upstream's id is opaque but not unbounded. */
const MAX_TASK_ID_LENGTH = 1024;

/**
 * Binds a task the upstream created for a request to the principal that made it (and the
 * session it was made in): from now on only that principal can name it, and only while
 * the session lives. Idempotent for the same owner; a task id already bound to another
 * principal is refused (an upstream that hands one id to two principals) and audited as
 * a replay. The record expires with its session, or after the longest session TTL.
 */
export async function bindTask(deps: CoreDeps, request: BindTaskRequest, caller: Caller): Promise<BoundTaskView> {
  const now = deps.clock();
  const taskId = request.task_id;
  if (taskId.length === 0 || taskId.length > MAX_TASK_ID_LENGTH || !taskId.isWellFormed()) {
    throw new InvalidRequest(`task_id must be 1 to ${MAX_TASK_ID_LENGTH} well-formed characters`);
  }
  const principal = await deps.verifier.verify(request.token, request.server);
  await assertNotRevoked(deps, lookupFor(principal, request.token), now);
  const parent =
    request.session === undefined
      ? null
      : await liveSession(deps, request.session, { principal, server: request.server, now });
  const idHash = boundStateHash('task', request.server, taskId);
  const cap = now + deps.limits.maxTtlSeconds * 1000;
  const expiresAt = Math.min(cap, parent?.expires_at ?? cap);
  const record: SessionRecord = {
    id_hash: idHash,
    kind: 'task',
    owner: ownerOf(principal),
    created_by: caller.id,
    server: request.server,
    parent: parent?.id_hash ?? null,
    scope: [],
    context: {},
    created_at: now,
    last_seen_at: now,
    // A task is not kept alive by polling: it lives as long as its session, within the cap.
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
      auditRecord('task.bound', now, caller.id, {
        principal: recordedPrincipal(principal),
        session: record.parent,
        server: request.server,
        detail: { task: idHash, expires_at: new Date(expiresAt).toISOString() },
      }),
    );
  } catch {
    // Not recorded, not bound: a task nobody can account for must not be usable.
    await deps.sessions.revoke(idHash, now).catch(() => undefined);
    throw new AuditUnavailable('the audit sink failed; the task was not bound');
  }
  return viewOf(record);
}

/**
 * The task a `tasks/*` request names, checked against the current request: bound for this
 * server, owned by the principal, live, and its session live. Throws the coded error of
 * the first failure; ownership first, so that a replay is reported as such.
 */
export async function loadTask(
  deps: CoreDeps,
  server: string,
  taskId: unknown,
  principal: Principal,
  now: number,
): Promise<SessionRecord> {
  if (typeof taskId !== 'string' || taskId.length === 0) throw new TaskUnknown('the request names no taskId');
  const idHash = boundStateHash('task', server, taskId);
  const record = await deps.sessions.get(idHash);
  if (record === undefined || record.kind !== 'task') throw new TaskUnknown('the task is unknown');
  if (!ownedBy(record.owner, principal)) throw new TaskOwnerMismatch('the task belongs to another principal', idHash);
  if (record.revoked_at !== null || isExpired(record, now)) throw new TaskClosed('the task is closed');
  if (record.parent !== null) {
    const parent = await deps.sessions.get(record.parent);
    if (parent === undefined || parent.revoked_at !== null || isExpired(parent, now)) {
      throw new TaskClosed('the session the task was started in has ended');
    }
  }
  return record;
}

/** The task ids among `candidates` (a `tasks/list` answer) that are the principal's own, live ones. */
export async function ownTasks(
  deps: CoreDeps,
  server: string,
  candidates: readonly string[],
  principal: Principal,
  now: number,
): Promise<string[]> {
  const checked = await Promise.all(
    candidates.map((id) =>
      loadTask(deps, server, id, principal, now).then(
        () => id,
        (err: unknown) => {
          if (err instanceof TaskUnknown || err instanceof TaskOwnerMismatch || err instanceof TaskClosed) return null;
          throw err;
        },
      ),
    ),
  );
  return checked.filter((id): id is string => id !== null);
}

/** The session a task is bound in: the principal's, for this server, live. */
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
  context: { readonly request: BindTaskRequest; readonly caller: Caller; readonly now: number },
): Promise<BoundTaskView> {
  if (ownedBy(existing.owner, principal)) return viewOf(existing);
  const { request, caller, now } = context;
  await deps.audit.append(
    auditRecord('task.owner_mismatch', now, caller.id, {
      principal: recordedPrincipal(principal),
      session: existing.id_hash,
      server: request.server,
      allow: false,
      detail: { task: existing.id_hash, binding: true },
    }),
  );
  throw new TaskOwnerMismatch('the task is bound to another principal', existing.id_hash);
}

function viewOf(record: SessionRecord): BoundTaskView {
  return { id_hash: record.id_hash, expires_at: new Date(record.expires_at).toISOString() };
}
