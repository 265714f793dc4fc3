import { describe, expect, it } from 'vitest';
import { RELATED_TASK_META_KEY, screenServerInitiated, type VisibleFor } from '../../src/pep/server-initiated.ts';

// What the principal may see, by list method: its own task, one resource.
const asked: [string, readonly string[]][] = [];
const visibleFor: VisibleFor = (method) => async (candidates) => {
  asked.push([method, candidates]);
  const own = method === 'tasks/list' ? ['task-own'] : method === 'resources/list' ? ['file:///srv/a'] : [];
  return candidates.filter((c) => own.includes(c));
};
const related = (taskId: unknown) => ({ _meta: { [RELATED_TASK_META_KEY]: { taskId } } });

describe('screenServerInitiated', () => {
  it.each([
    ['its own task status', { method: 'notifications/tasks/status', params: { taskId: 'task-own' } }, true],
    ["another's task status", { method: 'notifications/tasks/status', params: { taskId: 'task-other' } }, false],
    ['its own task (2026-07-28 extension)', { method: 'notifications/tasks', params: { taskId: 'task-own' } }, true],
    [
      "another's task (2026-07-28 extension), result and all",
      { method: 'notifications/tasks', params: { taskId: 'task-other', status: 'completed', result: { content: [] } } },
      false,
    ],
    ['a task status naming no task', { method: 'notifications/tasks/status', params: {} }, false],
    ['a task status whose id is not a string', { method: 'notifications/tasks/status', params: { taskId: 7 } }, false],
    ['an elicitation of its own task', { method: 'elicitation/create', id: 1, params: related('task-own') }, true],
    ["an elicitation of another's task", { method: 'elicitation/create', id: 1, params: related('task-other') }, false],
    [
      'a related-task meta that is not an object',
      { method: 'notifications/message', params: { _meta: { [RELATED_TASK_META_KEY]: 'x' } } },
      false,
    ],
    [
      'a visible resource update',
      { method: 'notifications/resources/updated', params: { uri: 'file:///srv/a' } },
      true,
    ],
    [
      'a hidden resource update',
      { method: 'notifications/resources/updated', params: { uri: 'file:///etc/shadow' } },
      false,
    ],
    ['a resource update without a uri', { method: 'notifications/resources/updated' }, false],
    ['a list_changed notification', { method: 'notifications/tools/list_changed' }, true],
    ['a progress notification', { method: 'notifications/progress', params: { progressToken: 1, progress: 1 } }, true],
  ])('%s: delivered = %s', async (_name, message, delivered) => {
    const screened = await screenServerInitiated(message as Record<string, unknown>, visibleFor);
    expect(screened === undefined ? false : screened === message).toBe(delivered);
  });

  it('asks nothing for a message that names no task or resource', async () => {
    asked.length = 0;
    await screenServerInitiated({ method: 'notifications/message', params: { level: 'info', data: 'x' } }, visibleFor);
    expect(asked).toEqual([]);
  });
});
