/**
 * Coded errors. Each subclass carries a stable snake_case `code` that is at once the
 * wire error code and the decision reason code. `docs/reason-codes.md` lists every code;
 * `test/errors.test.ts` keeps that table and this file in step.
 *
 * Misuse by our own code (a bad option at construction) throws `TypeError`; these
 * classes are for failures caused by untrusted input or by the environment.
 */

/**
 * What an enforcement point does with a code: `identity` → 401 with a Bearer challenge (a new
 * token could fix it); `state_gone` → the session is gone, re-initialize; `state_refused` → the
 * session exists but may not be used so; `unavailable` → 503, retry later; `request` → fix the
 * request; `caller` → the PEP's own credentials or limits; `policy` → a deny; `internal` → a bug.
 */
export type ErrorFamily = (typeof ERROR_FAMILIES)[number];

/** Every error family, in the order of docs/reason-codes.md. */
export const ERROR_FAMILIES = [
  'identity',
  'state_gone',
  'state_refused',
  'unavailable',
  'request',
  'caller',
  'policy',
  'internal',
] as const;

/** Base class of every coded failure. */
export class WardenError extends Error {
  /** Stable machine-readable code. */
  static readonly code: string = 'internal_error';
  /** HTTP status of the decision API when this code is the error of a route. */
  static readonly status: number = 500;
  /** How an enforcement point treats this code. */
  static readonly family: ErrorFamily = 'internal';
  readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = (new.target as typeof WardenError).code;
  }
}

// ---- identity ------------------------------------------------------------------

/** No bearer token was presented. */
export class TokenMissing extends WardenError {
  static override readonly code = 'token_missing';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token is not a well-formed JWT. */
export class TokenInvalid extends WardenError {
  static override readonly code = 'invalid_token';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token is larger than `identity.max_token_bytes`. */
export class TokenTooLarge extends WardenError {
  static override readonly code = 'token_too_large';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token's `alg` is not allowed for its issuer (`none`, HMAC without a secret, …). */
export class AlgorithmNotAllowed extends WardenError {
  static override readonly code = 'algorithm_not_allowed';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The signature does not verify with the issuer's key. */
export class SignatureInvalid extends WardenError {
  static override readonly code = 'signature_invalid';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** No key of the issuer matches the token's `kid`/`alg`, even after a refetch. */
export class KeyUnknown extends WardenError {
  static override readonly code = 'key_unknown';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The issuer's JWKS (or its discovery document) could not be fetched in time. */
export class JwksUnavailable extends WardenError {
  static override readonly code = 'jwks_unavailable';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token's `nbf` is in the future. */
export class TokenNotYetValid extends WardenError {
  static override readonly code = 'token_not_yet_valid';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** A required claim (`exp`, `iat`, `sub`, or one the issuer's config adds) is missing. */
export class ClaimMissing extends WardenError {
  static override readonly code = 'claim_missing';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** A claim has a value that fails its check. */
export class ClaimInvalid extends WardenError {
  static override readonly code = 'claim_invalid';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token's `typ` is not the one the issuer requires (e.g. an ID token for `at+jwt`). */
export class TokenTypeInvalid extends WardenError {
  static override readonly code = 'token_type_invalid';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** A JWT-SVID from a trust domain that is not configured. */
export class TrustDomainUntrusted extends WardenError {
  static override readonly code = 'trust_domain_untrusted';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/**
 * An Identity Assertion JWT Authorization Grant (`typ: oauth-id-jag+jwt`) was presented as
 * an access token: it is a grant to exchange at the resource's authorization server.
 */
export class IdJagNotAccessToken extends WardenError {
  static override readonly code = 'id_jag_not_access_token';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The agent identity presented beside the token (a JWT-SVID) failed its check. */
export class AgentIdentityInvalid extends WardenError {
  static override readonly code = 'agent_identity_invalid';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token's `may_act` does not name the actor acting for its subject. */
export class ActorNotPermitted extends WardenError {
  static override readonly code = 'actor_not_permitted';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** The delegation chain has more actors than `identity.delegation.max_depth`. */
export class DelegationTooDeep extends WardenError {
  static override readonly code = 'delegation_too_deep';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** The request names an MCP server this service does not decide for. */
export class ServerUnknown extends WardenError {
  static override readonly code = 'server_unknown';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token's `exp` has passed (beyond the clock tolerance). */
export class TokenExpired extends WardenError {
  static override readonly code = 'token_expired';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token's `iss` is not a configured, trusted issuer. */
export class IssuerUntrusted extends WardenError {
  static override readonly code = 'issuer_untrusted';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token was minted for another audience than the MCP server asked about. */
export class AudienceMismatch extends WardenError {
  static override readonly code = 'audience_mismatch';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token's issuer is trusted, but not for the MCP server asked about (its `servers`). */
export class IssuerUntrustedForServer extends WardenError {
  static override readonly code = 'issuer_untrusted_for_server';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token's `iat` is in the future beyond the clock tolerance. */
export class TokenIssuedInFuture extends WardenError {
  static override readonly code = 'token_issued_in_future';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The token is older (by `iat`) than its issuer's `max_token_age_seconds`. */
export class TokenTooOld extends WardenError {
  static override readonly code = 'token_too_old';
  static override readonly status = 401;
  static override readonly family = 'identity';
}

// ---- sessions ------------------------------------------------------------------

/** The id was not issued by this service, or its record is gone. */
export class SessionUnknown extends WardenError {
  static override readonly code = 'session_unknown';
  static override readonly status = 404;
  static override readonly family = 'state_gone';
}
/** The session was revoked. */
export class SessionRevoked extends WardenError {
  static override readonly code = 'session_revoked';
  static override readonly status = 410;
  static override readonly family = 'state_gone';
}
/** The session passed its idle or absolute expiry. */
export class SessionExpired extends WardenError {
  static override readonly code = 'session_expired';
  static override readonly status = 410;
  static override readonly family = 'state_gone';
}
/**
 * A principal presented state bound to another principal (a replay): also a security
 * event, recorded with the hash of what was replayed.
 */
export abstract class StateReplay extends WardenError {
  /** The hash of the id (or bound value) that was replayed, for the security event. */
  readonly idHash: string;
  constructor(message: string, idHash: string) {
    super(message);
    this.idHash = idHash;
  }
}
/** The session belongs to another principal (a replay); also a security event. */
export class SessionOwnerMismatch extends StateReplay {
  static override readonly code = 'session_owner_mismatch';
  static override readonly status = 403;
  static override readonly family = 'state_refused';
}
/**
 * A task id the proxy never bound for this server (or whose record is gone). Answered
 * per message: the caller's own session is fine, only the task it named is refused.
 */
export class TaskUnknown extends WardenError {
  static override readonly code = 'task_unknown';
  static override readonly status = 404;
  static override readonly family = 'policy';
}
/** The task belongs to another principal (a replay of its id); also a security event. */
export class TaskOwnerMismatch extends StateReplay {
  static override readonly code = 'task_owner_mismatch';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** The task's record, or the session it was started in, was revoked or expired. */
export class TaskClosed extends WardenError {
  static override readonly code = 'task_closed';
  static override readonly status = 410;
  static override readonly family = 'policy';
}
/** A state handle in a tool argument that the proxy never bound (not a warden `mwh_` handle either). */
export class HandleUnknown extends WardenError {
  static override readonly code = 'handle_unknown';
  static override readonly status = 404;
  static override readonly family = 'policy';
}
/** The upstream-minted handle was returned to another principal (a replay); also a security event. */
export class HandleOwnerMismatch extends StateReplay {
  static override readonly code = 'handle_owner_mismatch';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** The upstream-minted handle's record, or the session it was bound in, was revoked or expired. */
export class HandleClosed extends WardenError {
  static override readonly code = 'handle_closed';
  static override readonly status = 410;
  static override readonly family = 'policy';
}
/**
 * A multi-round-trip `requestState` that is not one the proxy sealed (forged, altered,
 * for another server), or is past its expiry. The upstream never sees it.
 */
export class RequestStateInvalid extends WardenError {
  static override readonly code = 'request_state_invalid';
  static override readonly status = 400;
  static override readonly family = 'policy';
}
/** A `requestState` sealed for another principal (a replay); also a security event. */
export class RequestStateOwnerMismatch extends WardenError {
  static override readonly code = 'request_state_owner_mismatch';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** The session was created for another MCP server. */
export class SessionServerMismatch extends WardenError {
  static override readonly code = 'session_server_mismatch';
  static override readonly status = 403;
  static override readonly family = 'state_refused';
}
/** The requested tool is outside the session's scope. */
export class ToolNotInSessionScope extends WardenError {
  static override readonly code = 'tool_not_in_session_scope';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** A session id was presented as a state handle, or the reverse. */
export class SessionKindMismatch extends WardenError {
  static override readonly code = 'session_kind_mismatch';
  static override readonly status = 400;
  static override readonly family = 'state_refused';
}
/** The session store cannot answer; decisions that need it fail closed. */
export class SessionStoreUnavailable extends WardenError {
  static override readonly code = 'session_store_unavailable';
  static override readonly status = 503;
  static override readonly family = 'unavailable';
}
/** The session grant policy refused to create or widen the session. */
export class SessionNotGranted extends WardenError {
  static override readonly code = 'session_not_granted';
  /** Step-up: the OAuth scopes a token would need for the grant (empty when none would do). */
  readonly requiredScopes: readonly string[];
  static override readonly status = 403;
  static override readonly family = 'policy';
  readonly reasons: readonly Reason[];
  constructor(message: string, reasons: readonly Reason[], requiredScopes: readonly string[] = []) {
    super(message);
    this.reasons = reasons;
    this.requiredScopes = requiredScopes;
  }
}
/** The caller may not act on this session (another PEP created it). */
export class SessionForbidden extends WardenError {
  static override readonly code = 'session_forbidden';
  static override readonly status = 403;
  static override readonly family = 'caller';
}
/** The principal already holds `session.max_per_principal` live sessions. */
export class SessionLimitReached extends WardenError {
  static override readonly code = 'session_limit_reached';
  static override readonly status = 429;
  static override readonly family = 'caller';
}

// ---- policy --------------------------------------------------------------------

/** The bundle could not be read: bad archive, missing file, unsafe entry. */
export class BundleInvalid extends WardenError {
  // Widened to string: the more specific bundle refusals below subclass this one.
  static override readonly code: string = 'bundle_invalid';
  static override readonly status = 422;
  static override readonly family = 'request';
}
/** Trusted keys are configured and the bundle carries no signature (and `allow_unsigned` is off). */
export class BundleUnsigned extends BundleInvalid {
  static override readonly code = 'bundle_unsigned';
}
/** The bundle's revision is not newer than the active one (a rollback, or a reused revision). */
export class BundleRollback extends BundleInvalid {
  static override readonly code = 'bundle_rollback';
}
/** The bundle carries data, a policy or an entrypoint outside the roots its manifest declares. */
export class BundleOutsideRoots extends BundleInvalid {
  static override readonly code = 'bundle_outside_roots';
}
/** Loading and trial-evaluating the bundle in its worker took longer than `policy.load_timeout_ms`. */
export class BundleLoadTimeout extends BundleInvalid {
  static override readonly code = 'bundle_load_timeout';
}
/** No policy is loaded. */
export class PolicyUnavailable extends WardenError {
  static override readonly code = 'policy_unavailable';
  static override readonly status = 503;
  static override readonly family = 'unavailable';
}
/** The entrypoint produced no result for this input. */
export class PolicyUndefined extends WardenError {
  static override readonly code = 'policy_undefined';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** The policy denied without giving a reason. */
export class PolicyDenied extends WardenError {
  static override readonly code = 'policy_denied';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** Evaluation threw, or its result does not match the output contract. */
export class PolicyError extends WardenError {
  static override readonly code = 'policy_error';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** The policy calls a builtin the WebAssembly runtime does not provide. */
export class PolicyBuiltinMissing extends WardenError {
  static override readonly code = 'policy_builtin_missing';
  static override readonly status = 403;
  static override readonly family = 'policy';
}

// ---- audit ---------------------------------------------------------------------

/** The audit sink did not accept the record; the decision fails closed. */
export class AuditUnavailable extends WardenError {
  static override readonly code = 'audit_unavailable';
  static override readonly status = 503;
  static override readonly family = 'unavailable';
}

// ---- upstream identity ---------------------------------------------------------

/**
 * The PEP asked for an identity assertion for its upstream, and this service signs none
 * for the server (no `identity.upstream_assertion`, or no audience for the server): the
 * request fails closed rather than reaching the upstream without the identity it expects.
 */
export class UpstreamIdentityUnavailable extends WardenError {
  static override readonly code = 'upstream_identity_unavailable';
  static override readonly status = 503;
  static override readonly family = 'unavailable';
}

// ---- requests ------------------------------------------------------------------

/** One wrong field of a request, by its dotted path (`''` for the whole body). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}
/** The request body does not match the contract. */
export class InvalidRequest extends WardenError {
  static override readonly code = 'invalid_request';
  static override readonly status = 400;
  static override readonly family = 'request';
  /** The fields at fault, when known. */
  readonly errors: readonly FieldError[];
  constructor(message: string, errors: readonly FieldError[] = []) {
    super(message);
    this.errors = errors;
  }
}
/** The request body is larger than a configured limit (bytes, JSON keys). */
export class PayloadTooLarge extends WardenError {
  static override readonly code = 'payload_too_large';
  static override readonly status = 413;
  static override readonly family = 'request';
  /** Where the limit was crossed. */
  readonly errors: readonly FieldError[];
  constructor(message: string, errors: readonly FieldError[] = []) {
    super(message);
    this.errors = errors;
  }
}
/** The request body is not JSON. */
export class UnsupportedMediaType extends WardenError {
  static override readonly code = 'unsupported_media_type';
  static override readonly status = 415;
  static override readonly family = 'request';
}
/** The caller is not authenticated. */
export class CallerUnauthenticated extends WardenError {
  static override readonly code = 'caller_unauthenticated';
  static override readonly status = 401;
  static override readonly family = 'caller';
}
/** The caller's role does not allow this operation. */
export class CallerForbidden extends WardenError {
  static override readonly code = 'caller_forbidden';
  static override readonly status = 403;
  static override readonly family = 'caller';
}
/** The route does not exist. */
export class NotFound extends WardenError {
  static override readonly code = 'not_found';
  static override readonly status = 404;
  static override readonly family = 'request';
}
/** Dev-only features were asked for outside dev mode on loopback. */
export class DevModeRequired extends WardenError {
  static override readonly code = 'dev_mode_required';
  static override readonly status = 403;
  static override readonly family = 'caller';
}
/** The Host header is not a name the listener answers to (DNS rebinding): `server.allowed_hosts`. */
export class HostNotAllowed extends WardenError {
  static override readonly code = 'host_not_allowed';
  static override readonly status = 403;
  static override readonly family = 'caller';
}
/** A browser Origin that is not allowed: `server.allowed_origins`. */
export class OriginNotAllowed extends WardenError {
  static override readonly code = 'origin_not_allowed';
  static override readonly status = 403;
  static override readonly family = 'caller';
}
/** The caller sent more requests than `server.rate_limit` allows; `retry-after` says when to retry. */
export class RateLimited extends WardenError {
  static override readonly code = 'rate_limited';
  static override readonly status = 429;
  static override readonly family = 'caller';
}
/** The request was not answered within `server.request_timeout_ms`. */
export class RequestTimeout extends WardenError {
  static override readonly code = 'request_timeout';
  static override readonly status = 503;
  static override readonly family = 'unavailable';
}
/** The service is shutting down and takes no new work. */
export class ShuttingDown extends WardenError {
  static override readonly code = 'shutting_down';
  static override readonly status = 503;
  static override readonly family = 'unavailable';
}

// ---- enforcement points --------------------------------------------------------

/** A PEP could not get a valid answer from the decision API in time; it denies. */
export class PdpUnavailable extends WardenError {
  static override readonly code = 'pdp_unavailable';
  static override readonly status = 503;
  static override readonly family = 'unavailable';
}

/** The request is in an MCP era (protocol version) the upstream does not speak. */
export class EraNotSupported extends WardenError {
  static override readonly code = 'era_not_supported';
  static override readonly status = 400;
  static override readonly family = 'request';
}
/** The principal (subject, client, token or `jti`) was revoked after this token was issued. */
export class PrincipalRevoked extends WardenError {
  static override readonly code = 'principal_revoked';
  static override readonly status = 401;
  static override readonly family = 'identity';
}
/** The decision carries an obligation this enforcement point does not implement: fail closed. */
export class ObligationUnsupported extends WardenError {
  static override readonly code = 'obligation_unsupported';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** A JSON-RPC id repeats within a batch, or while a request with that id is pending. */
export class DuplicateId extends WardenError {
  static override readonly code = 'duplicate_id';
  static override readonly status = 400;
  static override readonly family = 'request';
}
/** A message a parser could read two ways: duplicate keys, or keys that fold onto a protocol field. */
export class AmbiguousMessage extends WardenError {
  static override readonly code = 'ambiguous_message';
  static override readonly status = 400;
  static override readonly family = 'request';
}

// ---- approvals -----------------------------------------------------------------

/** The call waits for a human approval (docs/approvals.md); the decision names the approval request. */
export class ApprovalRequired extends WardenError {
  static override readonly code = 'approval_required';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** The policy's `approval` obligation is malformed: the call is denied, not waved through. */
export class ApprovalInvalid extends WardenError {
  static override readonly code = 'approval_invalid';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** No approval request has this id (or it is past its retention). */
export class ApprovalUnknown extends WardenError {
  static override readonly code = 'approval_unknown';
  static override readonly status = 404;
  static override readonly family = 'request';
}
/** The signed-in approver may not decide this request: not named by the obligation, or its requester. */
export class ApprovalForbidden extends WardenError {
  static override readonly code = 'approval_forbidden';
  static override readonly status = 403;
  static override readonly family = 'policy';
}
/** The approval request is no longer pending (decided, expired or revoked). */
export class ApprovalClosed extends WardenError {
  static override readonly code = 'approval_closed';
  static override readonly status = 409;
  static override readonly family = 'request';
}

/** A reason attached to a decision. */
export interface Reason {
  readonly code: string;
  readonly message: string;
}

/** The static facts of one error class; every code table is derived from these. */
export interface ErrorClassInfo {
  readonly code: string;
  readonly name: string;
  readonly status: number;
  readonly family: ErrorFamily;
}

/** Every error class: the one source of codes, statuses and families. */
export const ERROR_CLASSES: readonly ErrorClassInfo[] = [
  WardenError,
  TokenMissing,
  TokenInvalid,
  TokenTooLarge,
  AlgorithmNotAllowed,
  SignatureInvalid,
  KeyUnknown,
  JwksUnavailable,
  TokenNotYetValid,
  ClaimMissing,
  ClaimInvalid,
  TokenTypeInvalid,
  TrustDomainUntrusted,
  ServerUnknown,
  TokenExpired,
  IssuerUntrusted,
  AudienceMismatch,
  IssuerUntrustedForServer,
  TokenIssuedInFuture,
  TokenTooOld,
  SessionUnknown,
  SessionRevoked,
  SessionExpired,
  SessionOwnerMismatch,
  TaskUnknown,
  TaskOwnerMismatch,
  TaskClosed,
  HandleUnknown,
  HandleOwnerMismatch,
  HandleClosed,
  RequestStateInvalid,
  RequestStateOwnerMismatch,
  UpstreamIdentityUnavailable,
  SessionServerMismatch,
  ToolNotInSessionScope,
  SessionKindMismatch,
  SessionStoreUnavailable,
  SessionNotGranted,
  SessionForbidden,
  SessionLimitReached,
  BundleInvalid,
  BundleUnsigned,
  BundleRollback,
  BundleOutsideRoots,
  BundleLoadTimeout,
  PolicyUnavailable,
  PolicyUndefined,
  PolicyDenied,
  PolicyError,
  PolicyBuiltinMissing,
  AuditUnavailable,
  InvalidRequest,
  PayloadTooLarge,
  UnsupportedMediaType,
  CallerUnauthenticated,
  CallerForbidden,
  NotFound,
  DevModeRequired,
  HostNotAllowed,
  OriginNotAllowed,
  RateLimited,
  RequestTimeout,
  ShuttingDown,
  PdpUnavailable,
  EraNotSupported,
  PrincipalRevoked,
  ObligationUnsupported,
  DuplicateId,
  AmbiguousMessage,
  ApprovalRequired,
  ApprovalInvalid,
  ApprovalUnknown,
  ApprovalForbidden,
  ApprovalClosed,
  IdJagNotAccessToken,
  AgentIdentityInvalid,
  ActorNotPermitted,
  DelegationTooDeep,
];

const STATUS_BY_CODE: ReadonlyMap<string, number> = new Map(ERROR_CLASSES.map((c) => [c.code, c.status]));
const CODES_BY_FAMILY: ReadonlyMap<ErrorFamily, ReadonlySet<string>> = new Map(
  ERROR_FAMILIES.map((family) => [
    family,
    new Set(ERROR_CLASSES.filter((c) => c.family === family).map((c) => c.code)),
  ]),
);

/** HTTP status of a code's error class; 500 for a code no class has. */
export function statusOf(code: string): number {
  return STATUS_BY_CODE.get(code) ?? WardenError.status;
}

/** The codes of one family. */
export function codesOf(family: ErrorFamily): ReadonlySet<string> {
  return CODES_BY_FAMILY.get(family) ?? new Set();
}

/** Turns anything thrown into a reason, never leaking a stack. */
export function toReason(err: unknown): Reason {
  if (err instanceof WardenError) return { code: err.code, message: err.message };
  return { code: WardenError.code, message: 'internal error' };
}
