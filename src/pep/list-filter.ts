const LISTS: Readonly<Record<string, { readonly field: string; readonly key: string }>> = {
  'tools/list': { field: 'tools', key: 'name' },
  'prompts/list': { field: 'prompts', key: 'name' },
  'resources/list': { field: 'resources', key: 'uri' },
};

/** Whether an MCP method lists tools, prompts or resources (its result gets filtered). */
export function isListMethod(method: string): boolean {
  return Object.hasOwn(LISTS, method);
}

/**
 * A list result with only the items the principal may see: the names (or URIs) the
 * server returned are passed to the policy as candidates (`visibleAmong`, a decision of
 * the same list method), and only the ones it returns are kept. The policy judges what
 * is actually there, so a catalogue-free policy can still list, and a name it does not
 * know is hidden. `null` hides everything (deny by default); a malformed list shows nothing.
 */
export async function filterListResult(
  method: string,
  result: Record<string, unknown>,
  visibleAmong: (candidates: readonly string[]) => Promise<readonly string[] | null>,
): Promise<Record<string, unknown>> {
  const list = LISTS[method];
  if (list === undefined) return result;
  const raw = result[list.field];
  const items = Array.isArray(raw) ? raw : [];
  const keys = items.map((item: unknown) => keyOf(item, list.key));
  const keep = new Set((await visibleAmong(keys.filter((k): k is string => k !== undefined))) ?? []);
  return { ...result, [list.field]: items.filter((_, i) => keys[i] !== undefined && keep.has(keys[i] as string)) };
}

function keyOf(item: unknown, key: string): string | undefined {
  const value = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}
