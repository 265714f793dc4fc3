import { TASK_METHODS } from '../decision/bound-state.ts';
import type { HandleResult } from '../policy/handle-result.ts';
import { forbidden, refusalOf, refusalReasons } from './answers.ts';

/** What the PEP does with state the upstream mints, before it reaches the client. */
export interface MintedStateHooks {
  /** Binds a task the upstream created for the pending request to its principal and session. */
  readonly bindTask: (taskId: string) => Promise<void>;
  /** Binds a state handle a tool result carries (`handle_result`) to its principal and session. */
  readonly bindHandle: (handle: string) => Promise<void>;
  /** Seals an upstream `requestState` to the principal; returns the value the client gets instead. */
  readonly sealRequestState: (value: string) => Promise<string>;
}

/**
 * The task id an answer hands the client, which must be bound before it leaves: a
 * `CreateTaskResult` — `result.task.taskId` (MCP 2025-11-25), or `resultType: "task"`
 * with a top-level `taskId` (the 2026-07-28 tasks extension) — answering any request but
 * the `tasks/*` ones (whose answers name a task already bound). Null when there is none.
 */
export function createdTaskId(method: string, result: unknown): string | null {
  if (TASK_METHODS.has(method) || method === 'tasks/list') return null;
  if (!isObject(result)) return null;
  if (result.resultType === 'task') return typeof result.taskId === 'string' ? result.taskId : null;
  const task = result.task;
  if (!isObject(task)) return null;
  return typeof task.taskId === 'string' ? task.taskId : null;
}

/** The `requestState` of an `InputRequiredResult` (MCP 2026-07-28 multi-round-trip requests), or null. */
export function inputRequiredState(result: unknown): string | null {
  if (!isObject(result) || result.resultType !== 'input_required') return null;
  return typeof result.requestState === 'string' ? result.requestState : null;
}

/** Most text scanned for a handle pattern, per content block: the pattern is policy data, the text the upstream's. */
const MAX_SCANNED_TEXT = 64 * 1024;

/**
 * The handles a tool result carries where `where` says: a string field of
 * `structuredContent`, or the first match (its first group, else the whole match) of a
 * pattern in each text block of `content`.
 */
export function handlesIn(result: unknown, where: HandleResult): string[] {
  if (!isObject(result)) return [];
  if ('field' in where) {
    const structured = result.structuredContent;
    const value = isObject(structured) ? structured[where.field] : undefined;
    return typeof value === 'string' && value.length > 0 ? [value] : [];
  }
  const pattern = new RegExp(where.pattern, 'u');
  const blocks = Array.isArray(result.content) ? result.content : [];
  const found = new Set<string>();
  for (const block of blocks) {
    if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string') continue;
    const match = pattern.exec(block.text.slice(0, MAX_SCANNED_TEXT));
    const handle = match === null ? undefined : (match[1] ?? match[0]);
    if (handle !== undefined && handle.length > 0) found.add(handle);
  }
  return [...found];
}

/**
 * An answer to a pending request, with the state the upstream minted in it made the
 * principal's: a created task bound, the handles a tool result carries (`handleResult`)
 * bound, a `requestState` replaced by its sealed form. When any fails, the answer becomes
 * a -32003 refusal with the reason, so that no unbound task id or handle and no unsealed
 * state reaches the client.
 */
export async function withMintedStateBound(
  message: Record<string, unknown>,
  pending: { readonly method: string; readonly handleResult?: HandleResult | undefined },
  hooks: MintedStateHooks,
): Promise<Record<string, unknown>> {
  try {
    const { method, handleResult } = pending;
    const taskId = createdTaskId(method, message.result);
    if (taskId !== null) await hooks.bindTask(taskId);
    if (handleResult !== undefined)
      for (const handle of handlesIn(message.result, handleResult)) await hooks.bindHandle(handle);
    const state = inputRequiredState(message.result);
    if (state === null) return message;
    const sealed = await hooks.sealRequestState(state);
    return { ...message, result: { ...(message.result as Record<string, unknown>), requestState: sealed } };
  } catch (err) {
    const refusal = refusalOf(err, 'binding the state the server minted');
    const id = typeof message.id === 'string' || typeof message.id === 'number' ? message.id : null;
    return forbidden(id, { reasons: refusalReasons(refusal), decision_id: null });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
