import { SessionKindMismatch, SessionUnknown } from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import type { PolicyEngine } from '../policy/engine.ts';
import { checkSession } from '../session/check.ts';
import { hashSessionId, kindOfId } from '../session/ids.ts';
import type { SessionKind, SessionRecord } from '../session/record.ts';
import { loadBound } from './bound-state.ts';
import type { CoreDeps } from './deps.ts';
import { toolOf } from './policy-input.ts';
import type { DecideRequest } from './types.ts';

/** The session and the state handle a request presents, each checked against it. */
export interface PresentedState {
  readonly session: SessionRecord | null;
  /** A handle this service minted (`mwh_…`, with its scope of tools). */
  readonly handle: SessionRecord | null;
  /** A handle the upstream minted and the PEP bound as it left (`handle_result`). */
  readonly upstreamHandle: SessionRecord | null;
}

/**
 * Loads and checks what the request presents: its `session` (an MCP session), and the
 * state handle in the tool argument that the request (`mcp.handle_argument`) or the
 * policy data (`catalogue.tools.<tool>.handle_argument`) names — one this service minted
 * (`mwh_…`), or one the upstream minted and the PEP bound (any other value). Possession is not
 * authentication: both must belong to the verified principal, be live, be for this
 * server, and list the tool. Throws the coded error of the first failure.
 */
export async function loadPresentedState(
  deps: CoreDeps,
  engine: PolicyEngine,
  request: DecideRequest,
  principal: Principal,
  now: number,
): Promise<PresentedState> {
  const tool = toolOf(request.mcp);
  const use = { principal, server: request.server, tool, now };
  const session = request.session === undefined ? null : await load(deps, request.session, 'mcp-session', use);
  const argument = request.mcp.handle_argument ?? (tool === null ? null : engine.handleArgument(tool));
  const value = argument === null ? undefined : request.mcp.params?.arguments?.[argument];
  if (value === undefined) return { session, handle: null, upstreamHandle: null };
  // A value of the shape this service mints is its own handle; any other was minted upstream.
  if (typeof value === 'string' && kindOfId(value) === null) {
    return { session, handle: null, upstreamHandle: await loadBound(deps, 'handle', use, value) };
  }
  return { session, handle: await load(deps, value, 'state-handle', use), upstreamHandle: null };
}

async function load(
  deps: CoreDeps,
  id: unknown,
  kind: SessionKind,
  use: Omit<Parameters<typeof checkSession>[1], 'kind'>,
): Promise<SessionRecord> {
  // An id of a shape we never issue is unknown without a store round trip.
  const presented = typeof id === 'string' ? kindOfId(id) : null;
  if (presented === null) throw new SessionUnknown(`the ${kind} is unknown`);
  if (presented !== kind) throw new SessionKindMismatch(`a ${presented} was presented as a ${kind}`);
  const record = await deps.sessions.get(hashSessionId(id as string));
  return checkSession(record, { ...use, kind });
}
