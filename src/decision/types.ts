import type { Reason } from '../errors.ts';
import type { HandleResult } from '../policy/handle-result.ts';
import type { ActorRef, MintedKind, SessionKind, SessionOwner } from '../session/record.ts';

/**
 * Who is asking: the authenticated PEP (proxy, gateway, MCP server) or operator. `local`
 * is the one caller of a service without API keys, which listens on loopback only; it has
 * the `pep` and `metrics` powers, and `admin` ones in dev mode only.
 */
export interface Caller {
  readonly id: string;
  readonly role: CallerRole;
  /** The MCP servers a `pep` key is bound to (`callers.api_keys[].servers`); absent: any. */
  readonly servers?: readonly string[] | undefined;
}

export type CallerRole = 'pep' | 'admin' | 'metrics' | 'local';

/** The MCP request a PEP asks about. */
export interface McpRequest {
  readonly method: string;
  readonly params?:
    | {
        readonly name?: string | undefined;
        readonly arguments?: Readonly<Record<string, unknown>> | undefined;
        readonly uri?: string | undefined;
        /** `tasks/*`: the task the request names. */
        readonly taskId?: string | undefined;
        /** MCP 2026-07-28 multi-round-trip retry: the sealed `requestState` the client returns. */
        readonly requestState?: string | undefined;
        /** `completion/complete`: what is completed (a prompt by name, a resource by URI). */
        readonly ref?: { readonly type?: string; readonly name?: string; readonly uri?: string } | undefined;
      }
    | undefined;
  readonly protocol_version?: string | undefined;
  /**
   * How the client describes itself (initialize's clientInfo and capabilities, or the
   * 2026-07-28 `_meta`): self-asserted, recorded and given to the policy, never identity.
   */
  readonly client?:
    | {
        readonly name?: string | undefined;
        readonly version?: string | undefined;
        /** The names of the capabilities it declares. */
        readonly capabilities?: readonly string[] | undefined;
      }
    | undefined;
  /** For list methods: the names (or URIs) the upstream returned. */
  readonly candidates?: readonly string[] | undefined;
  /** The tool argument that carries a state handle (else the policy data says, per tool). */
  readonly handle_argument?: string | undefined;
}

/** Body of `POST /v1/decide`. */
export interface DecideRequest {
  readonly token?: string | undefined;
  /** The presenting agent's JWT-SVID (docs/identity.md, "Delegation"). */
  readonly agent_token?: string | undefined;
  readonly session?: string | undefined;
  readonly server: string;
  readonly mcp: McpRequest;
  readonly context?: Readonly<Record<string, unknown>> | undefined;
  /** On an allow, sign an identity assertion of the principal for the server's upstream. */
  readonly upstream_identity?: boolean | undefined;
}

/** The answer. A deny is a normal answer, never an exception. */
export interface Decision {
  readonly decision_id: string;
  readonly allow: boolean;
  readonly reasons: readonly Reason[];
  readonly obligations: Readonly<Record<string, unknown>>;
  readonly visible_tools: readonly string[] | null;
  readonly policy: { readonly revision: string | null };
  /**
   * On a deny a token with more scopes could lift: the OAuth scopes that would (the
   * policy's scope-to-role data), for an `insufficient_scope` challenge. Absent otherwise.
   */
  readonly required_scopes?: readonly string[];
  /**
   * On an allow of a request that returned a sealed `requestState`: the upstream's own
   * value, which the PEP forwards in its place. Absent otherwise.
   */
  readonly request_state?: string;
  /**
   * On an allowed call of a tool whose results carry a handle the upstream mints
   * (`handle_result` in the policy data): where it is, for the PEP to bind before the
   * result leaves. Absent otherwise.
   */
  readonly handle_result?: HandleResult;
  /**
   * On an allow of a request that asked for it (`upstream_identity`): a short-lived JWT of
   * the principal, signed by this service for the server's upstream. Absent otherwise.
   */
  readonly upstream_identity?: string;
  /**
   * On a deny `approval_required`: the approval request the call is parked under, where
   * an approver decides it, and until when it waits. Absent otherwise.
   */
  readonly approval?: ApprovalTicket;
}

/** A parked call's approval request, as the requester's PEP gets it (docs/approvals.md). */
export interface ApprovalTicket {
  readonly id: string;
  /** The approval page of this request, or null when the service serves none. */
  readonly url: string | null;
  readonly expires_at: string;
  /** What the policy tells the approver (and the requester) the approval is for. */
  readonly reason: string | null;
}

/** Body of `POST /v1/sessions`. */
export interface CreateSessionRequest {
  readonly token?: string | undefined;
  /** The presenting agent's JWT-SVID (docs/identity.md, "Delegation"). */
  readonly agent_token?: string | undefined;
  readonly server: string;
  readonly kind?: MintedKind | undefined;
  readonly tools?: readonly string[] | undefined;
  readonly context?: Readonly<Record<string, unknown>> | undefined;
}

/** What of the upstream's minting a PEP binds: a task it created, a state handle a tool returned. */
export type BoundStateKind = 'task' | 'handle';

/** Body of `POST /v1/bound-state`: state the upstream minted for this principal's request. */
export interface BindStateRequest {
  readonly token?: string | undefined;
  /** The presenting agent's JWT-SVID (docs/identity.md, "Delegation"). */
  readonly agent_token?: string | undefined;
  /** The session the request was made in (legacy era); the state ends with it. */
  readonly session?: string | undefined;
  readonly server: string;
  readonly kind: BoundStateKind;
  /** The upstream's value (a `taskId`, a handle), as it will be presented back. */
  readonly value: string;
}

/** Bound state as the API shows it: never its value, which is the upstream's. */
export interface BoundStateView {
  readonly id_hash: string;
  readonly expires_at: string;
}

/** Body of `POST /v1/request-states`: an upstream's `requestState`, to seal to the principal. */
export interface SealRequestStateRequest {
  readonly token?: string | undefined;
  /** The presenting agent's JWT-SVID (docs/identity.md, "Delegation"). */
  readonly agent_token?: string | undefined;
  readonly server: string;
  readonly request_state: string;
}

/** Body of `POST /v1/sessions/{id}/scope`. */
export interface WidenRequest {
  readonly id: string;
  readonly token?: string | undefined;
  /** The presenting agent's JWT-SVID (docs/identity.md, "Delegation"). */
  readonly agent_token?: string | undefined;
  readonly add: readonly string[];
}

/** A session as the API shows it (the id only once, at creation). */
export interface SessionView {
  readonly id?: string;
  readonly id_hash: string;
  readonly kind: SessionKind;
  readonly owner: SessionOwner & { readonly actor: readonly ActorRef[] };
  readonly server: string;
  readonly scope: readonly string[];
  readonly created_at: string;
  readonly expires_at: string;
  readonly idle_expires_at: string;
  readonly revoked_at: string | null;
}

/** What a principal revocation names (see `session/revocation.ts` for what each covers). */
export type PrincipalSelector =
  | {
      readonly selector: 'subject';
      readonly iss: string | null;
      readonly sub: string;
      readonly client_id: string | null;
    }
  | { readonly selector: 'client'; readonly client_id: string }
  | { readonly selector: 'token'; readonly token_sha256: string }
  | { readonly selector: 'jti'; readonly iss: string; readonly jti: string };

/** Body of `POST /v1/revocations`: exactly one selector group, and a note. */
export interface RevocationFields {
  readonly subject?: string | undefined;
  readonly issuer?: string | undefined;
  readonly client_id?: string | undefined;
  readonly token_sha256?: string | undefined;
  readonly jti?: string | undefined;
  readonly note?: string | undefined;
}

/** A principal revocation as the API shows it. */
export interface RevocationView {
  readonly selector: 'subject' | 'client' | 'token' | 'jti';
  readonly issuer: string | null;
  readonly subject: string | null;
  readonly client_id: string | null;
  readonly token_sha256: string | null;
  readonly jti: string | null;
  readonly revoked_at: string;
  readonly expires_at: string;
  readonly revoked_by: string;
  readonly note: string | null;
}

/** One open stream's authority, for `checkLiveness`: the token and session it was opened with, for a server. */
export interface LivenessItem {
  readonly token?: string | undefined;
  /** The presenting agent's JWT-SVID (docs/identity.md, "Delegation"). */
  readonly agent_token?: string | undefined;
  readonly session?: string | undefined;
  readonly server: string;
}
