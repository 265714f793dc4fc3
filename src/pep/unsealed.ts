import type { Decision } from '../decision/types.ts';

/**
 * The request as the server must receive it: a multi-round-trip retry (MCP 2026-07-28)
 * carries the `requestState` the client was handed sealed to its principal; the decision
 * unsealed it (`request_state`), and the server gets its own value back in its place.
 * Any other request is returned as it is.
 */
export function unsealedRequest<T>(raw: T, decision: Pick<Decision, 'request_state'>): T {
  if (decision.request_state === undefined) return raw;
  const message = raw as { params: Record<string, unknown> };
  return { ...message, params: { ...message.params, requestState: decision.request_state } } as T;
}
