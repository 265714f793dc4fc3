import type { VisibleAmong } from './list-filter.ts';

/** The `_meta` key that ties a server message to a task (MCP 2025-11-25 tasks). */
export const RELATED_TASK_META_KEY = 'io.modelcontextprotocol/related-task';

/**
 * Notifications whose params are a task (`params.taskId`): MCP 2025-11-25's status
 * notification, and the 2026-07-28 tasks extension's `notifications/tasks` (the whole
 * task, its result included, on a `subscriptions/listen` stream).
 */
const TASK_NOTIFICATIONS: ReadonlySet<string> = new Set(['notifications/tasks/status', 'notifications/tasks']);

/** How a screen asks what this principal may see, by the list method that lists it. */
export type VisibleFor = (method: string) => VisibleAmong;

/**
 * A request or notification the server sends the client, screened as list items are:
 * one that names a task (a task notification, or the related-task `_meta` of any
 * message) reaches the client only when the task is the principal's own, and a
 * `notifications/resources/updated` only when the principal may see the resource.
 * Otherwise it is withheld (`undefined`): behind a proxy every principal shares one
 * upstream credential, so an upstream's stream (a `subscriptions/listen`, a shared
 * session) must not tell one principal of another's tasks or resources.
 */
export async function screenServerInitiated(
  message: Record<string, unknown>,
  visibleFor: VisibleFor,
): Promise<Record<string, unknown> | undefined> {
  const params = isRecord(message.params) ? message.params : {};
  const meta = isRecord(params._meta) ? params._meta : {};
  const related = meta[RELATED_TASK_META_KEY];
  const tasks = [
    ...(TASK_NOTIFICATIONS.has(message.method as string) ? [params.taskId] : []),
    ...(related === undefined ? [] : [isRecord(related) ? related.taskId : undefined]),
  ];
  for (const task of tasks) if (!(await sees(visibleFor('tasks/list'), task))) return undefined;
  if (message.method === 'notifications/resources/updated' && !(await sees(visibleFor('resources/list'), params.uri)))
    return undefined;
  return message;
}

/** Whether the one name is visible; a name that is not a string never is. */
async function sees(visibleAmong: VisibleAmong, name: unknown): Promise<boolean> {
  if (typeof name !== 'string' || name === '') return false;
  return ((await visibleAmong([name])) ?? []).includes(name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
