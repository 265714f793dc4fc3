import type { Reason } from '../errors.ts';
import type { ChainHead, SealedRecord } from './chain.ts';

/** Every kind of audit record: the one list the query filters (HTTP and CLI) accept. */
export const AUDIT_KINDS = [
  'decision',
  'session.created',
  'session.widened',
  'session.revoked',
  'session.expired',
  'session.owner_mismatch',
  'session.reviewed',
  'task.bound',
  'task.owner_mismatch',
  'task.revoked',
  'handle.bound',
  'handle.owner_mismatch',
  'handle.revoked',
  'request_state.sealed',
  'request_state.owner_mismatch',
  'principal.revoked',
  'principal.shared',
  'approval.requested',
  'approval.granted',
  'approval.denied',
  'approval.consumed',
  'approval.expired',
  'approval.revoked',
  'policy.activated',
  'policy.rejected',
  'audit.recovered',
  'audit.chain_started',
  'audit.chain_closed',
] as const;

/** Kinds of audit record. */
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** One audit record, before it is sealed into a chain. Never holds a token or a session id in clear. */
export interface AuditRecord {
  readonly v: 1;
  readonly ts: string;
  readonly kind: AuditKind;
  readonly decision_id: string | null;
  readonly caller: string;
  readonly principal: RecordedPrincipal | null;
  /** sha256 of the session id. */
  readonly session: string | null;
  readonly server: string | null;
  readonly method: string | null;
  readonly tool: string | null;
  readonly allow: boolean | null;
  readonly reasons: readonly Reason[];
  readonly policy_revision: string | null;
  /** The MCP request, masked before anything is hashed or written. */
  readonly input?: Readonly<Record<string, unknown>>;
  /** Kind-specific facts (scope granted, who revoked, …). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

type RecordFields = Partial<Omit<AuditRecord, 'v' | 'ts' | 'kind' | 'caller'>>;

/** A record of `kind` written at `now` for `caller`; every field not given is empty. */
export function auditRecord(kind: AuditKind, now: number, caller: string, fields: RecordFields = {}): AuditRecord {
  return {
    v: 1,
    ts: new Date(now).toISOString(),
    kind,
    decision_id: null,
    caller,
    principal: null,
    session: null,
    server: null,
    method: null,
    tool: null,
    allow: null,
    reasons: [],
    policy_revision: null,
    ...fields,
  };
}

/** The part of a principal a record keeps: who, and (when someone acts for them) through whom. */
export interface RecordedPrincipal {
  readonly iss: string;
  readonly sub: string;
  readonly client_id: string | null;
  /** The actor chain, most recent actor first; absent when the subject acted itself. */
  readonly actor?: readonly RecordedActor[];
}

/** One actor of a recorded chain; `attested` when it proved itself with its own JWT-SVID. */
export interface RecordedActor {
  readonly iss: string;
  readonly sub: string;
  readonly client_id: string | null;
  readonly spiffe_id: string | null;
  readonly attested?: true;
}

type ActorLike = Omit<RecordedActor, 'attested'> & { readonly attested?: boolean };

/** The part of a principal (or of a state's owner) a record keeps. */
export function recordedPrincipal(
  principal: {
    readonly iss: string;
    readonly sub: string;
    readonly client_id: string | null;
    readonly actor?: readonly ActorLike[] | undefined;
  } | null,
): AuditRecord['principal'] {
  if (principal === null) return null;
  const { iss, sub, client_id, actor = [] } = principal;
  if (actor.length === 0) return { iss, sub, client_id };
  return {
    iss,
    sub,
    client_id,
    actor: actor.map((a) => ({
      iss: a.iss,
      sub: a.sub,
      client_id: a.client_id,
      spiffe_id: a.spiffe_id,
      ...(a.attested === true ? { attested: true as const } : {}),
    })),
  };
}

/** Filters of an audit query; all given fields must match. */
export interface AuditQuery {
  /** sha256 of a session id (callers hash an id first). */
  readonly session?: string | undefined;
  readonly subject?: string | undefined;
  readonly client_id?: string | undefined;
  readonly tool?: string | undefined;
  readonly server?: string | undefined;
  readonly kind?: AuditKind | undefined;
  readonly allow?: boolean | undefined;
  /** ISO 8601 bounds on `ts`, inclusive since, exclusive until. */
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly limit: number;
  /** Opaque position from a previous page's `next`. */
  readonly cursor?: string | undefined;
}

/** One page of query results, oldest first. */
export interface AuditPage {
  readonly records: readonly SealedRecord[];
  readonly next: string | null;
}

/** A trail read, never written: what `audit verify` and `audit query` open. */
export interface AuditTrail {
  query(query: AuditQuery): Promise<AuditPage>;
  /** Every record, in stored order (all chains), for `audit verify`. */
  records(): AsyncIterable<SealedRecord>;
  /** Every signed checkpoint, for `audit verify`. */
  checkpoints(): AsyncIterable<string>;
}

/**
 * Where audit records go. The sink seals each record into its replica's hash chain and
 * writes it; `append` resolves only once the record is accepted, and rejects with
 * `audit_unavailable` otherwise (the caller fails closed). It signs a checkpoint of its
 * chain head every N records or T seconds, and at `stop()`.
 */
export interface AuditSink extends AuditTrail {
  append(record: AuditRecord): Promise<void>;
  /** The chain this sink writes, and where it stands. */
  head(): ChainHead;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): 'OK' | 'ERROR';
}

/** Whether a sealed record matches every given filter (for sinks that scan). */
export function matchesQuery(record: SealedRecord, query: AuditQuery): boolean {
  return (
    (query.session === undefined || record.session === query.session) &&
    (query.subject === undefined || record.principal?.sub === query.subject) &&
    (query.client_id === undefined || record.principal?.client_id === query.client_id) &&
    (query.tool === undefined || record.tool === query.tool) &&
    (query.server === undefined || record.server === query.server) &&
    (query.kind === undefined || record.kind === query.kind) &&
    (query.allow === undefined || record.allow === query.allow) &&
    (query.since === undefined || record.ts >= query.since) &&
    (query.until === undefined || record.ts < query.until)
  );
}
