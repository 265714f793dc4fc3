import type { Decision, McpRequest } from '../decision/types.ts';
import {
  AlgorithmNotAllowed, AudienceMismatch, ClaimInvalid, ClaimMissing, IssuerUntrusted, JwksUnavailable, KeyUnknown,
  ServerUnknown, SessionExpired, SessionRevoked, SessionUnknown, SignatureInvalid, TokenExpired, TokenInvalid,
  TokenMissing, TokenNotYetValid, TokenTooLarge, TokenTypeInvalid, TrustDomainUntrusted, type Reason,
} from '../errors.ts';
import { TRANSPORT_METHOD, WardenRefusal, type Warden } from '../pep/warden.ts';
import type { ClientMessage } from './protocol.ts';

/** Reasons that mean the bearer token itself failed: answered 401 with a challenge. */
export const TOKEN_FAILURES: ReadonlySet<string> = new Set(
  [TokenMissing, TokenInvalid, TokenTooLarge, AlgorithmNotAllowed, SignatureInvalid, KeyUnknown, JwksUnavailable,
    TokenExpired, TokenNotYetValid, ClaimMissing, ClaimInvalid, TokenTypeInvalid, IssuerUntrusted,
    TrustDomainUntrusted, AudienceMismatch, ServerUnknown].map((c) => c.code),
);

/** Reasons that mean the session is gone: answered 404 so that the client re-initializes. */
export const SESSION_GONE: ReadonlySet<string> = new Set([SessionExpired, SessionRevoked, SessionUnknown].map((c) => c.code));

export interface Verdict {
  readonly message: ClientMessage;
  readonly decision: Decision;
}

export interface DecisionContext {
  readonly warden: Warden;
  readonly token: string | undefined;
  readonly session: string | undefined;
  readonly server: string;
  readonly protocolVersion: string | undefined;
  /** Ask for a widening when a call needs a tool outside the session's scope. */
  readonly widenOnDemand: boolean;
}

/** The MCP request a message stands for in a decision. */
export function mcpRequestOf(message: ClientMessage, protocolVersion: string | undefined): McpRequest {
  if (message.type === 'response') return { method: TRANSPORT_METHOD.response, protocol_version: protocolVersion };
  const { name, arguments: args, uri } = message.params;
  return {
    method: message.method,
    params: {
      name: typeof name === 'string' ? name : undefined,
      arguments: args !== null && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : undefined,
      uri: typeof uri === 'string' ? uri : undefined,
    },
    protocol_version: protocolVersion,
  };
}

/** Decides every message of a POST, in order; nothing is forwarded before all are decided. */
export async function decideMessages(ctx: DecisionContext, messages: readonly ClientMessage[]): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  for (const message of messages) verdicts.push({ message, decision: await decideOne(ctx, mcpRequestOf(message, ctx.protocolVersion)) });
  return verdicts;
}

/** Decides one request; a call refused only for the session's scope may be re-authorized as a widening. */
export async function decideOne(ctx: DecisionContext, mcp: McpRequest): Promise<Decision> {
  const request = { token: ctx.token, session: ctx.session, server: ctx.server, mcp };
  const decision = await ctx.warden.decide(request);
  const tool = mcp.params?.name;
  if (
    decision.allow || !ctx.widenOnDemand || ctx.session === undefined || mcp.method !== 'tools/call' || tool === undefined ||
    decision.reasons.length !== 1 || decision.reasons[0]!.code !== 'tool_not_in_session_scope'
  ) {
    return decision;
  }
  try {
    await ctx.warden.widenSession({ id: ctx.session, token: ctx.token, add: [tool] });
  } catch (err) {
    // The deny stands; the grant policy's reasons for refusing the widening explain it
    // (tool_not_permitted, destructive_requires_role, …) and are added to the answer.
    const more = err instanceof WardenRefusal ? err.reasons : [];
    return more.length === 0 ? decision : { ...decision, reasons: [...decision.reasons, ...more] };
  }
  return ctx.warden.decide(request);
}

/** The reasons of a deny as a JSON-RPC error's `data`. */
export function denialData(decision: Decision): { reasons: readonly Reason[]; decision_id: string } {
  return { reasons: decision.reasons, decision_id: decision.decision_id };
}

export function hasReason(decision: Decision, codes: ReadonlySet<string>): boolean {
  return !decision.allow && decision.reasons.some((r) => codes.has(r.code));
}
