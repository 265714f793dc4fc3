/**
 * The MCP list methods, with the result field that holds the items and the item key a
 * policy judges (a name, a URI, a URI template). Their results are filtered to what the
 * principal may see; the decision of one answers `visible_tools`.
 */
export const LIST_METHODS: Readonly<Record<string, { readonly field: string; readonly key: string }>> = {
  'tools/list': { field: 'tools', key: 'name' },
  'prompts/list': { field: 'prompts', key: 'name' },
  'resources/list': { field: 'resources', key: 'uri' },
  'resources/templates/list': { field: 'resourceTemplates', key: 'uriTemplate' },
  // MCP 2025-11-25: the engine passes the policy only the principal's own tasks.
  'tasks/list': { field: 'tasks', key: 'taskId' },
};

/** Whether an MCP method lists tools, prompts, resources, resource templates or tasks. */
export function isListMethod(method: string): boolean {
  return Object.hasOwn(LIST_METHODS, method);
}
