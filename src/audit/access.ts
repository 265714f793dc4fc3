import { stringify } from 'csv-stringify/sync';
import { InvalidRequest } from '../errors.ts';
import type { SealedRecord } from './chain.ts';
import type { AuditTrail, RecordedPrincipal } from './record.ts';

/** A tool on a server, in a window: ISO 8601, `since` inclusive, `until` exclusive. */
export interface AccessQuery {
  readonly server: string;
  readonly tool: string;
  readonly since: string;
  readonly until: string;
}

/** One principal (a subject through a client and an actor chain) and its access to the tool. */
export interface AccessRow {
  readonly principal: RecordedPrincipal;
  /** It held the tool in a session's scope during the window, or was allowed a call of it. */
  readonly could: boolean;
  /** Allowed calls in the window. */
  readonly did: number;
  /** Refused calls in the window. */
  readonly denied: number;
  /** Hashes of its sessions whose scope held the tool during the window. */
  readonly sessions: readonly string[];
  readonly first_at: string | null;
  readonly last_at: string | null;
}

/** Who could use a tool and who did, reconstructed from the trail. */
export interface AccessReport {
  readonly query: AccessQuery;
  readonly rows: readonly AccessRow[];
  /** Records read. */
  readonly scanned: number;
  /** The read stopped at its limit: the answer covers part of the trail only. */
  readonly truncated: boolean;
}

interface Held {
  readonly principal: RecordedPrincipal;
  /** When the tool entered the scope, or null while it is not in it. */
  from: string | null;
  /** The absolute expiry the session was created with. */
  readonly expires: string;
  overlaps: boolean;
}

interface Tally {
  readonly principal: RecordedPrincipal;
  did: number;
  denied: number;
  readonly sessions: Set<string>;
  first_at: string | null;
  last_at: string | null;
}

const PAGE = 1000;
/** The window when none is given: the last hour. */
export const DEFAULT_WINDOW_MS = 3_600_000;

/** The window a caller asked for, ISO 8601: `until` defaults to `now`, `since` to an hour before it. */
export function accessWindow(
  since: string | undefined,
  until: string | undefined,
  now: number,
): { readonly since: string; readonly until: string } {
  const end = until ?? new Date(now).toISOString();
  return { since: since ?? new Date(Date.parse(end) - DEFAULT_WINDOW_MS).toISOString(), until: end };
}

/**
 * Who could use `query.tool` on `query.server` between `since` and `until`, and who did
 * (docs/audit.md, "Who had access to what"). A session counts when the tool was in its
 * scope (from `session.created` or a `session.widened`) at some instant of the window,
 * until it was revoked, recorded expired, or reached its absolute expiry. Idle expiry is
 * not in the records, so a session's span is an upper bound: the report may name one
 * that had idled out, never miss one that could act. Calls are the `decision` records of
 * that tool and server in the window. A principal is its issuer, subject, client and
 * actor chain: an agent acting for alice is not alice.
 */
export async function accessReport(
  trail: AuditTrail,
  query: AccessQuery,
  options: { readonly maxRecords?: number } = {},
): Promise<AccessReport> {
  if (query.since >= query.until) {
    throw new InvalidRequest('since: must be before until', [{ path: 'since', message: 'not before until' }]);
  }
  const maxRecords = options.maxRecords ?? 1_000_000;
  const held = new Map<string, Held>();
  const tallies = new Map<string, Tally>();
  const tally = (principal: RecordedPrincipal) => {
    const key = JSON.stringify(principal);
    let entry = tallies.get(key);
    if (entry === undefined) {
      entry = { principal, did: 0, denied: 0, sessions: new Set(), first_at: null, last_at: null };
      tallies.set(key, entry);
    }
    return entry;
  };
  // The tool held over [from, end): does that span meet the window?
  const close = (session: string, h: Held, end: string) => {
    if (h.from !== null && h.from < query.until && end > query.since) h.overlaps = true;
    if (h.overlaps) tally(h.principal).sessions.add(session);
    h.from = null;
  };
  let scanned = 0;
  let cursor: string | undefined;
  let truncated = false;
  do {
    const page = await trail.query({ server: query.server, until: query.until, limit: PAGE, cursor });
    for (const record of page.records) {
      scanned += 1;
      visit(record);
    }
    cursor = page.next ?? undefined;
    if (cursor !== undefined && scanned >= maxRecords) truncated = true;
  } while (cursor !== undefined && !truncated);
  for (const [session, h] of held) close(session, h, h.from === null ? query.since : h.expires);

  function visit(r: SealedRecord): void {
    const session = r.session;
    const detail = (r.detail ?? {}) as Record<string, unknown>;
    if (r.kind === 'session.created' && session !== null && r.principal !== null) {
      const expires = typeof detail.expires_at === 'string' ? detail.expires_at : '9999-12-31T23:59:59.999Z';
      const h: Held = { principal: r.principal, from: null, expires, overlaps: false };
      held.set(session, h);
      if (inScope(detail.scope, query.tool)) h.from = r.ts;
    } else if (r.kind === 'session.widened' && session !== null) {
      const h = held.get(session);
      if (h !== undefined && h.from === null && inScope(detail.scope, query.tool)) h.from = r.ts;
    } else if ((r.kind === 'session.revoked' || r.kind === 'session.expired') && session !== null) {
      const h = held.get(session);
      // biome-ignore lint/complexity/useMathMinMax: ISO 8601 strings, compared as strings
      if (h !== undefined && h.from !== null) close(session, h, r.ts < h.expires ? r.ts : h.expires);
    } else if (r.kind === 'decision' && r.tool === query.tool && r.principal !== null && r.ts >= query.since) {
      const t = tally(r.principal);
      if (r.allow === true) {
        t.did += 1;
        t.first_at ??= r.ts;
        t.last_at = r.ts;
      } else {
        t.denied += 1;
      }
    }
  }

  const rows: AccessRow[] = [...tallies.values()].map((t) => ({
    principal: t.principal,
    could: t.did > 0 || t.sessions.size > 0,
    did: t.did,
    denied: t.denied,
    sessions: [...t.sessions].sort(),
    first_at: t.first_at,
    last_at: t.last_at,
  }));
  rows.sort(
    (a, b) => Number(b.could) - Number(a.could) || b.did - a.did || a.principal.sub.localeCompare(b.principal.sub),
  );
  return { query, rows, scanned, truncated };
}

function inScope(scope: unknown, tool: string): boolean {
  return Array.isArray(scope) && (scope.includes(tool) || scope.includes('*'));
}

/**
 * The report as CSV (RFC 4180), a row per principal, the actor chain as `sub@iss > sub@iss`,
 * formulas defused.
 */
export function accessCsv(report: AccessReport): string {
  return stringify(
    report.rows.map((r) => [
      r.principal.iss,
      r.principal.sub,
      r.principal.client_id ?? '',
      (r.principal.actor ?? []).map((a) => `${a.sub}@${a.iss}`).join(' > '),
      r.could ? 'yes' : 'no',
      r.did,
      r.denied,
      r.first_at ?? '',
      r.last_at ?? '',
      r.sessions.join(' '),
    ]),
    {
      header: true,
      // A cell a spreadsheet would run (=, +, -, @) is prefixed with ': a report is opened in one.
      escape_formulas: true,
      columns: ['iss', 'sub', 'client_id', 'actor', 'could', 'did', 'denied', 'first_at', 'last_at', 'sessions'],
    },
  );
}
