import type { Decision, McpRequest } from '../decision/types.ts';
import { toReason, UpstreamIdentityUnavailable } from '../errors.ts';
import type { ClientMessage } from './message.ts';
import type { MintedStateHooks } from './minted-state.ts';
import { mcpRequestOf } from './mcp-request.ts';
import { enforceableDecision } from './obligations.ts';
import { WardenRefusal, type Warden } from './warden.ts';

/** What one enforcement point knows of the messages it judges together. */
export interface EnforcementContext {
  readonly warden: Warden;
  /** The MCP server id (its canonical resource URI): the audience of the tokens. */
  readonly server: string;
  readonly token: string | undefined;
  /** The presenting agent's JWT-SVID, beside the token (docs/identity.md, "Delegation"). */
  readonly agentToken?: string | undefined;
  /** The warden session the messages belong to (legacy era), if any. */
  readonly session: string | undefined;
  readonly protocolVersion: string | undefined;
  /** Ask for a widening when a call needs a tool outside the session's scope. */
  readonly widenOnDemand: boolean;
  /** The obligations this PEP carries out ({@link IMPLEMENTED_OBLIGATIONS}). */
  readonly obligations: ReadonlySet<string>;
  /** The upstream takes an identity assertion with every request: an allow must carry one. */
  readonly upstreamIdentity?: boolean | undefined;
}

/** What the warden verifies the request's identity from: the token, and the agent's own identity if given. */
export function credentialsOf(ctx: Pick<EnforcementContext, 'token' | 'agentToken'>): {
  token: string | undefined;
  agent_token?: string;
} {
  return ctx.agentToken === undefined ? { token: ctx.token } : { token: ctx.token, agent_token: ctx.agentToken };
}

export interface Verdict {
  readonly message: ClientMessage;
  readonly decision: Decision;
}

/**
 * Decides one MCP request as every enforcement point must: a tool call refused only
 * because the session's scope lacks the tool is re-authorized as a widening (a new grant
 * by policy, audited) and decided again; an allow carrying an obligation this PEP does
 * not carry out is a deny, and so is an allow without the identity assertion the
 * upstream takes.
 */
export async function decideRequest(ctx: EnforcementContext, mcp: McpRequest): Promise<Decision> {
  const request = {
    ...credentialsOf(ctx),
    session: ctx.session,
    server: ctx.server,
    mcp,
    ...(ctx.upstreamIdentity === true ? { upstream_identity: true } : {}),
  };
  let decision = await ctx.warden.decide(request);
  const tool = mcp.params?.name;
  if (
    ctx.widenOnDemand &&
    ctx.session !== undefined &&
    mcp.method === 'tools/call' &&
    tool !== undefined &&
    onlyOutOfScope(decision)
  ) {
    decision = await widened(ctx, decision, ctx.session, tool, request);
  }
  return withUpstreamIdentity(enforceableDecision(decision, ctx.obligations), ctx);
}

/** An allow goes upstream only with the assertion the upstream takes; without it, it fails closed. */
function withUpstreamIdentity(decision: Decision, ctx: EnforcementContext): Decision {
  if (!decision.allow || ctx.upstreamIdentity !== true || typeof decision.upstream_identity === 'string')
    return decision;
  const { upstream_identity: _none, ...denied } = decision;
  const reason = toReason(
    new UpstreamIdentityUnavailable('the decision carries no identity assertion for the upstream'),
  );
  return { ...denied, allow: false, reasons: [reason], obligations: {}, visible_tools: null };
}

/** The identity assertion to send upstream with these messages: the first allowed decision's. */
export function upstreamIdentityOf(verdicts: readonly Verdict[]): string | undefined {
  return verdicts.find((v) => v.decision.allow)?.decision.upstream_identity;
}

/** Decides every message in order; nothing is delivered before all are decided. */
export async function decideMessages(ctx: EnforcementContext, messages: readonly ClientMessage[]): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  for (const message of messages)
    verdicts.push({ message, decision: await decideRequest(ctx, mcpRequestOf(message, ctx.protocolVersion)) });
  return verdicts;
}

/**
 * What the principal may see of a list the server returned: the names (or URIs) go to
 * the policy as `candidates` of the same list method; null hides everything.
 */
export function visibleAmong(
  ctx: EnforcementContext,
  method: string,
): (candidates: readonly string[]) => Promise<readonly string[] | null> {
  return async (candidates) => {
    const decision = await decideRequest(
      { ...ctx, widenOnDemand: false, upstreamIdentity: false },
      { method, params: {}, candidates, protocol_version: ctx.protocolVersion },
    );
    return decision.allow ? decision.visible_tools : null;
  };
}

/** Makes the state the upstream mints in answers to these messages their principal's (and session's). */
export function mintedStateHooks(ctx: EnforcementContext): MintedStateHooks {
  const bind = (kind: 'task' | 'handle') => async (value: string) => {
    await ctx.warden.bindState({ ...credentialsOf(ctx), session: ctx.session, server: ctx.server, kind, value });
  };
  return {
    bindTask: bind('task'),
    bindHandle: bind('handle'),
    sealRequestState: async (value) =>
      (await ctx.warden.sealRequestState({ ...credentialsOf(ctx), server: ctx.server, request_state: value }))
        .request_state,
  };
}

function onlyOutOfScope(decision: Decision): boolean {
  return (
    !decision.allow &&
    decision.reasons.length > 0 &&
    decision.reasons.every((r) => r.code === 'tool_not_in_session_scope')
  );
}

async function widened(
  ctx: EnforcementContext,
  denied: Decision,
  session: string,
  tool: string,
  request: Parameters<Warden['decide']>[0],
): Promise<Decision> {
  try {
    await ctx.warden.widenSession({ id: session, ...credentialsOf(ctx), add: [tool] });
  } catch (err) {
    // The deny stands; the grant policy's reasons for refusing the widening explain it
    // (tool_not_permitted, destructive_requires_role, …) and are added to the answer.
    if (!(err instanceof WardenRefusal) || err.reasons.length === 0) return denied;
    const scopes = [...new Set([...(denied.required_scopes ?? []), ...err.requiredScopes])].sort();
    return {
      ...denied,
      reasons: [...denied.reasons, ...err.reasons],
      ...(scopes.length > 0 ? { required_scopes: scopes } : {}),
    };
  }
  return ctx.warden.decide(request);
}
