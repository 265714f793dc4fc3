import { TASK_METHODS } from '../decision/tasks.ts';
import { forbidden, refusalOf, refusalReasons } from './answers.ts';

/** What the PEP does with state the upstream mints, before it reaches the client. */
export interface MintedStateHooks {
  /** Binds a task the upstream created for the pending request to its principal and session. */
  readonly bindTask: (taskId: string) => Promise<void>;
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

/**
 * An answer to a pending request, with the state the upstream minted in it made the
 * principal's: a created task bound, a `requestState` replaced by its sealed form. When
 * either fails, the answer becomes a -32003 refusal with the reason, so that no unbound
 * task id and no unsealed state reaches the client.
 */
export async function withMintedStateBound(
  message: Record<string, unknown>,
  method: string,
  hooks: MintedStateHooks,
): Promise<Record<string, unknown>> {
  try {
    const taskId = createdTaskId(method, message.result);
    if (taskId !== null) await hooks.bindTask(taskId);
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
