import type { Reason } from '../errors.ts';

/** Kinds of audit record. */
export type AuditKind =
  | 'decision'
  | 'session.created'
  | 'session.widened'
  | 'session.revoked'
  | 'session.expired'
  | 'session.owner_mismatch'
  | 'policy.activated'
  | 'policy.rejected';

/** One audit record. Never holds a token or a session id in clear. */
export interface AuditRecord {
  readonly v: 1;
  readonly ts: string;
  readonly kind: AuditKind;
  readonly decision_id: string | null;
  readonly caller: string;
  readonly principal: { readonly iss: string; readonly sub: string; readonly client_id: string | null } | null;
  /** sha256 of the session id. */
  readonly session: string | null;
  readonly server: string | null;
  readonly method: string | null;
  readonly tool: string | null;
  readonly allow: boolean | null;
  readonly reasons: readonly Reason[];
  readonly policy_revision: string | null;
  /** Kind-specific facts (scope granted, who revoked, …). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Where audit records go. `append` resolves only once the record is accepted. */
export interface AuditSink {
  append(record: AuditRecord): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
