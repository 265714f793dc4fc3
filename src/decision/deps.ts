import type { ApprovalDeps } from '../approval/deps.ts';
import type { MaskRules } from '../audit/mask.ts';
import type { AuditSink } from '../audit/record.ts';
import type { SharedUseTracker } from '../shared-use/tracker.ts';
import type { TokenVerifier } from '../identity/verifier.ts';
import type { ActivePolicy } from '../policy/active.ts';
import type { SessionStore } from '../session/record.ts';
import type { Decision } from './types.ts';
import type { UpstreamIdentitySigner } from './upstream-identity.ts';

/** Told of every answer, for metrics; kept outside the core, and must not throw. */
export interface CoreObserver {
  /** A decision as answered, and the seconds `decide()` took (its audit write included). */
  decision(decision: Decision, seconds: number): void;
  /** A principal became shared (`principal.shared`). */
  sharedPrincipal?(): void;
}

/** What the decision pipeline and the session operations run on. */
export interface CoreDeps {
  readonly verifier: TokenVerifier;
  readonly sessions: SessionStore;
  readonly policy: ActivePolicy;
  readonly audit: AuditSink;
  /** Applied to tool arguments before they reach an audit record. */
  readonly mask: MaskRules;
  /** Epoch milliseconds. */
  readonly clock: () => number;
  /** The A256GCM key that seals MCP 2026-07-28 `requestState` values to their principal. */
  readonly stateKey: Uint8Array;
  readonly limits: {
    readonly maxTtlSeconds: number;
    readonly maxIdleSeconds: number;
  };
  /**
   * `session.admin_revoke`: whether an admin's revocation of one session also revokes its
   * owner (a principal rule), so the same token cannot go on statelessly. `principal` when absent.
   */
  readonly adminRevoke?: 'principal' | 'session' | undefined;
  /** Signs identity assertions for upstreams (`identity.upstream_assertion`), when configured. */
  readonly upstreamIdentity?: UpstreamIdentitySigner | undefined;
  /** Human approvals (`approvals`, docs/approvals.md); absent: an `approval` obligation denies. */
  readonly approvals?: ApprovalDeps | undefined;
  /** Notices principals used from many clients, workloads or chains (`identity.shared_accounts`). */
  readonly sharedUse?: SharedUseTracker | undefined;
  /** Metrics, when the service keeps them. */
  readonly observe?: CoreObserver | undefined;
}
