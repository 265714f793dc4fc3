import { TASK_METHODS } from '../decision/tasks.ts';

/** Binds a task id the upstream minted to the principal and session of the request it answers. */
export type BindTask = (taskId: string) => Promise<void>;

/**
 * The task id an answer hands the client, which must be bound before it leaves: a
 * `CreateTaskResult` (`result.task.taskId`, MCP 2025-11-25) answering any request but
 * the `tasks/*` ones (whose answers name a task already bound). Null when there is none.
 */
export function createdTaskId(method: string, result: unknown): string | null {
  if (TASK_METHODS.has(method) || method === 'tasks/list') return null;
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return null;
  const task = (result as Record<string, unknown>).task;
  if (task === null || typeof task !== 'object' || Array.isArray(task)) return null;
  const taskId = (task as Record<string, unknown>).taskId;
  return typeof taskId === 'string' ? taskId : null;
}
