import type { SessionOwner } from '../session/record.ts';
import type { ApprovalObligation } from './obligation.ts';

/**
 * Where an approval request stands. `pending` and `granted` are live until their expiry
 * (`expires_at`, `grant_expires_at`); the others are final. A stored `pending` or
 * `granted` past its expiry reads as `expired` ({@link stateAt}) until the sweep records it.
 */
export type ApprovalState = 'pending' | 'granted' | 'denied' | 'consumed' | 'expired' | 'revoked';

export const APPROVAL_STATES: readonly ApprovalState[] = [
  'pending',
  'granted',
  'denied',
  'consumed',
  'expired',
  'revoked',
];

/** Who decided or revoked: a verified principal (approver), or an API caller (revocation). */
export interface ApprovalActor {
  readonly iss: string | null;
  readonly sub: string | null;
  readonly client_id: string | null;
  /** The API caller the decision came through (the page, the console, an admin key). */
  readonly caller: string;
}

/**
 * One parked call and its approval: the request, then the one-time grant it becomes.
 * Times are epoch milliseconds. The id is a reference, not a credential: deciding needs
 * an approver's verified token, and using the grant the requester's own, for the exact
 * call it was parked for (`binding`).
 */
export interface ApprovalRecord {
  readonly id: string;
  readonly id_hash: string;
  /** sha256 of the call's binding (docs/approvals.md): owner, session, server, tool, arguments. */
  readonly binding: string;
  /** The requester, as it owns sessions (issuer, subject, client, SPIFFE id). */
  readonly owner: SessionOwner;
  readonly server: string;
  /** The `id_hash` of the session the call was made in (legacy era), or null. */
  readonly session: string | null;
  readonly tool: string;
  /** sha256 (hex) of the RFC 8785 canonical arguments. */
  readonly arguments_sha256: string;
  /** The arguments, masked as in the audit trail: what the approver is shown. */
  readonly arguments: unknown;
  /** How the client described itself (self-asserted), shown to the approver. */
  readonly client: Readonly<Record<string, unknown>> | null;
  readonly obligation: ApprovalObligation;
  /** The decision that parked the call. */
  readonly decision_id: string;
  readonly created_by: string;
  readonly created_at: number;
  /** Until when the request waits for an approver. */
  readonly expires_at: number;
  readonly state: ApprovalState;
  readonly decided_at: number | null;
  readonly decided_by: ApprovalActor | null;
  readonly note: string | null;
  /** Until when the grant waits for its one use. */
  readonly grant_expires_at: number | null;
  readonly consumed_at: number | null;
  /** The decision that used the grant. */
  readonly consumed_by: string | null;
  readonly revoked_at: number | null;
  readonly revoked_by: ApprovalActor | null;
}

/** The fields a transition sets; the others never change once the record is stored. */
export type ApprovalChange = Partial<
  Pick<
    ApprovalRecord,
    | 'decided_at'
    | 'decided_by'
    | 'note'
    | 'grant_expires_at'
    | 'consumed_at'
    | 'consumed_by'
    | 'revoked_at'
    | 'revoked_by'
  >
>;

/** What a new request is parked with: everything but the state fields. */
export type ParkedCall = Omit<ApprovalRecord, 'state' | keyof ApprovalChange>;

/** A new request: `call`, pending, with no decision, grant, use or revocation yet. */
export function pendingRecord(call: ParkedCall): ApprovalRecord {
  return {
    ...call,
    state: 'pending',
    decided_at: null,
    decided_by: null,
    note: null,
    grant_expires_at: null,
    consumed_at: null,
    consumed_by: null,
    revoked_at: null,
    revoked_by: null,
  };
}

/**
 * One atomic step of the state machine: from one of `from`, to `to`, setting `set`. `when`
 * says whether the record must still be live at `now` (grant, deny, consume, revoke) or
 * past its expiry (expire).
 */
export interface ApprovalTransition {
  readonly from: readonly ('pending' | 'granted')[];
  readonly to: ApprovalState;
  readonly when: 'live' | 'expired';
  readonly set: ApprovalChange;
}

/** Which records a listing shows: by state at `now` (stored, or `expired` once past expiry), newest first. */
export interface ApprovalQuery {
  readonly state?: ApprovalState | undefined;
  readonly server?: string | undefined;
  readonly limit: number;
}

/**
 * Storage of approval records, beside the sessions (the same store: memory, or Redis for
 * every replica). Each method is atomic against every other, across replicas.
 */
export interface ApprovalStore {
  /**
   * Parks a call: stores `record` and makes it the one its binding names, unless the
   * binding already names a live (`pending` or `granted`) record: then returns that one
   * and stores nothing, so a retried call is one request for the approver, not many.
   */
  park(record: ApprovalRecord, now: number): Promise<{ record: ApprovalRecord; created: boolean }>;
  get(idHash: string): Promise<ApprovalRecord | undefined>;
  /** The record the binding names now, if it is still kept. */
  byBinding(binding: string): Promise<ApprovalRecord | undefined>;
  /**
   * Applies the transition if the record is in one of its `from` states and live (or
   * expired) at `now`, and returns the record after it; undefined when it did not apply.
   * Exactly one of two racing transitions of a record applies.
   */
  transition(idHash: string, step: ApprovalTransition, now: number): Promise<ApprovalRecord | undefined>;
  list(query: ApprovalQuery, now: number): Promise<ApprovalRecord[]>;
  /** Drops records past their retention ({@link droppableAt}); returns how many. */
  sweep(now: number): Promise<number>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Whether the store can answer now, for `/health`. */
  status(): 'OK' | 'ERROR';
}

/** The state of a record at `now`: a live state past its expiry is `expired`. */
export function stateAt(record: ApprovalRecord, now: number): ApprovalState {
  if (record.state === 'pending' && now >= record.expires_at) return 'expired';
  if (record.state === 'granted' && now >= (record.grant_expires_at ?? 0)) return 'expired';
  return record.state;
}

/** Whether `step` may apply to `record` at `now`. */
export function applies(record: ApprovalRecord, step: ApprovalTransition, now: number): boolean {
  if (!(step.from as readonly ApprovalState[]).includes(record.state)) return false;
  const expired = stateAt(record, now) === 'expired';
  return step.when === 'expired' ? expired : !expired;
}

/** The record after `step`. */
export function applied(record: ApprovalRecord, step: ApprovalTransition): ApprovalRecord {
  return { ...record, ...step.set, state: step.to };
}

/** When a record may be dropped from the store: its last possible use, plus the retention. */
export function droppableAt(record: ApprovalRecord, maxGrantMs: number, retainMs: number): number {
  return Math.max(record.expires_at + maxGrantMs, record.grant_expires_at ?? 0) + retainMs;
}
