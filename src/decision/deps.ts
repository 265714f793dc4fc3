import type { MaskRules } from '../audit/mask.ts';
import type { AuditSink } from '../audit/record.ts';
import type { TokenVerifier } from '../identity/verifier.ts';
import type { ActivePolicy } from '../policy/active.ts';
import type { SessionStore } from '../session/record.ts';

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
  readonly limits: {
    readonly maxTtlSeconds: number;
    readonly maxIdleSeconds: number;
  };
}
