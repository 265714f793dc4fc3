import type { Reason } from '../errors.ts';
import type {
  BindStateRequest,
  BoundStateView,
  CreateSessionRequest,
  Decision,
  DecideRequest,
  SealRequestStateRequest,
  SessionView,
  WidenRequest,
} from '../decision/types.ts';

/**
 * What a policy enforcement point (the proxy, the SDK guard) needs from mcp-warden,
 * whether it runs in the same process or behind `POST /v1/decide`. Both implementations
 * call the one `decide()` pipeline; neither re-implements a step.
 */
export interface Warden {
  /** Never throws and never allows on a failure: any error is a deny with a reason. */
  decide(request: DecideRequest): Promise<Decision>;
  /** Creates a session or state handle; throws a {@link WardenRefusal} when refused. */
  createSession(request: CreateSessionRequest): Promise<SessionView>;
  /** Re-authorizes a widening of a session's scope; throws a {@link WardenRefusal}. */
  widenSession(request: WidenRequest): Promise<SessionView>;
  /**
   * Binds state the upstream minted (a task it created, a handle a tool returned) to the
   * principal (and session) of the request, before it reaches the client; throws a
   * {@link WardenRefusal}.
   */
  bindState(request: BindStateRequest): Promise<BoundStateView>;
  /**
   * Seals an upstream's MCP 2026-07-28 `requestState` to the principal, before it reaches
   * the client; throws a {@link WardenRefusal}.
   */
  sealRequestState(request: SealRequestStateRequest): Promise<{ readonly request_state: string }>;
  /** Revokes a session (idempotent); throws a {@link WardenRefusal}. */
  revokeSession(request: {
    readonly id: string;
    readonly token?: string | undefined;
    readonly agent_token?: string | undefined;
  }): Promise<void>;
  /**
   * Whether the authority behind open streams still holds, for each item: null when the
   * token verifies, its principal is not revoked and the session (if any) is live and
   * the principal's; else the reason. Decides nothing (no policy, no audit record).
   * Never throws: a failure is `pdp_unavailable` for every item.
   */
  liveness(items: readonly LivenessItem[]): Promise<(Reason | null)[]>;
  /** Releases connections or nothing; the warden itself is not stopped by a PEP. */
  close(): Promise<void>;
}

/** One open stream's authority: the token and session it was opened with, for a server. */
export interface LivenessItem {
  readonly token?: string | undefined;
  readonly agent_token?: string | undefined;
  readonly session?: string | undefined;
  readonly server: string;
}

/**
 * Methods an enforcement point asks about that are Streamable HTTP operations, not MCP
 * requests: a policy sees them like any method (the engine has checked token and
 * session first). The default policy allows them.
 */
export const TRANSPORT_METHOD = {
  /** A legacy GET that opens the server's SSE stream for a session. */
  stream: 'transport/stream',
  /** A legacy DELETE that ends a session. */
  close: 'transport/close',
  /** A client's JSON-RPC response to a server request (sampling, elicitation, roots). */
  response: 'transport/response',
} as const;

/**
 * A refused or failed session operation, with the wire code of the decision API
 * (`invalid_token`, `session_not_granted`, `session_revoked`, `audit_unavailable`, …).
 */
export class WardenRefusal extends Error {
  readonly code: string;
  readonly reasons: readonly Reason[];
  /** Step-up: the OAuth scopes a token would need for what was refused. */
  readonly requiredScopes: readonly string[];
  constructor(code: string, message: string, reasons: readonly Reason[] = [], requiredScopes: readonly string[] = []) {
    super(message);
    this.name = 'WardenRefusal';
    this.code = code;
    this.reasons = reasons;
    this.requiredScopes = requiredScopes;
  }
}
