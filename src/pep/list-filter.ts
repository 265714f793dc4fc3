import { isListMethod, LIST_METHODS } from '../decision/list-methods.ts';
import type { HandleResult } from '../policy/handle-result.ts';
import { withMintedStateBound, type MintedStateHooks } from './minted-state.ts';
import { screenServerInitiated } from './server-initiated.ts';

export { isListMethod };

/** Asks which of the server's names (or URIs) this principal may see; null hides all. */
export type VisibleAmong = (candidates: readonly string[]) => Promise<readonly string[] | null>;

/** Result fields a list answer may carry besides its items; any other is dropped. */
const LIST_RESULT_FIELDS = new Set(['nextCursor', '_meta', 'ttlMs', 'cacheScope', 'resultType']);

/**
 * A list result with only the items the principal may see: the names (or URIs) the
 * server returned are passed to the policy as candidates, and only the ones it returns
 * are kept. The policy judges what is actually there, so a catalogue-free policy can
 * still list, and a name it does not know is hidden. Fields the method did not ask for
 * (another list smuggled beside this one, say) are dropped; the result is marked
 * `cacheScope: "private"` (MCP 2026-07-28) when it carries caching hints or the era has
 * them, so that no shared cache serves one principal's list to another.
 */
export async function filterListResult(
  method: string,
  result: Record<string, unknown>,
  visibleAmong: VisibleAmong,
  modern = false,
): Promise<Record<string, unknown>> {
  const list = LIST_METHODS[method];
  if (list === undefined) return result;
  const raw = result[list.field];
  const items = Array.isArray(raw) ? raw : [];
  const keys = items.map((item: unknown) => keyOf(item, list.key));
  const keep = new Set((await visibleAmong(keys.filter((k): k is string => k !== undefined))) ?? []);
  const filtered: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(result)) if (LIST_RESULT_FIELDS.has(name)) filtered[name] = value;
  filtered[list.field] = items.filter((_, i) => keys[i] !== undefined && keep.has(keys[i] as string));
  if (modern || 'cacheScope' in result || 'ttlMs' in result) filtered.cacheScope = 'private';
  return filtered;
}

/** Whether a result carries a list (an array under a list field), whatever it answers. */
export function isListShaped(result: unknown): boolean {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return false;
  return Object.values(LIST_METHODS).some(({ field }) => Array.isArray((result as Record<string, unknown>)[field]));
}

/** The method of a pending request by its id, or undefined. */
export type PendingMethod = (id: unknown) => string | undefined;

/** What an enforcement point knows when it screens the server's messages of one exchange. */
export interface ServerScreen extends MintedStateHooks {
  readonly pendingMethod: PendingMethod;
  /** Where the result of a pending tool call carries a handle the upstream mints, if it does. */
  readonly pendingHandleResult: (id: unknown) => HandleResult | undefined;
  readonly visibleFor: (method: string) => VisibleAmong;
  readonly modern: boolean;
}

/**
 * A server message on its way to the client, screened so that list filtering and state
 * binding fail closed: the answer to a pending list request is filtered as that method's;
 * a list-shaped answer to anything else (a stray or replayed id, a request of another
 * method) is withheld (`undefined`); the state the upstream minted in an answer to a
 * pending request (a task, a `requestState`) is made the principal's before it leaves
 * ({@link withMintedStateBound}); a request or notification of the server that names a
 * task or resource the principal may not see is withheld ({@link screenServerInitiated});
 * anything else passes unchanged.
 */
export async function screenServerMessage(message: unknown, screen: ServerScreen): Promise<unknown> {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return message;
  const original = message as Record<string, unknown>;
  if (typeof original.method === 'string') return screenServerInitiated(original, screen.visibleFor);
  if (!('id' in original) || 'method' in original || !('result' in original || 'error' in original)) return message;
  const method = screen.pendingMethod(original.id);
  const m =
    method === undefined
      ? original
      : await withMintedStateBound(original, { method, handleResult: screen.pendingHandleResult(original.id) }, screen);
  if (method === undefined || !isListMethod(method)) {
    if (isListShaped(m.result)) return undefined;
    return m === original ? message : m;
  }
  if (m.result === null || typeof m.result !== 'object' || Array.isArray(m.result)) return message;
  return {
    ...m,
    result: await filterListResult(
      method,
      m.result as Record<string, unknown>,
      screen.visibleFor(method),
      screen.modern,
    ),
  };
}

function keyOf(item: unknown, key: string): string | undefined {
  const value = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}
