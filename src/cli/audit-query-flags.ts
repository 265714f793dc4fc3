import { z } from 'zod';
import { AUDIT_KINDS, type AuditKind, type AuditQuery } from '../audit/record.ts';
import { hashSessionId, kindOfId } from '../session/ids.ts';
import { integerFlag, UsageError } from './args.ts';

/** The flags of `audit query`, as parsed (strings, unchecked). */
export interface QueryFlags {
  readonly session?: string | undefined;
  readonly subject?: string | undefined;
  readonly 'client-id'?: string | undefined;
  readonly tool?: string | undefined;
  readonly server?: string | undefined;
  readonly kind?: string | undefined;
  readonly outcome?: string | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly limit?: string | undefined;
  readonly cursor?: string | undefined;
}

const rfc3339 = z.iso.datetime({ offset: true });
const RELATIVE = /^-(\d{1,9})([smhd])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The query the flags ask for, at `now`; a `UsageError` naming the flag when any flag is not valid. */
export function queryFromFlags(flags: QueryFlags, now: number): AuditQuery {
  const { session } = flags;
  return {
    // A session id as issued is hashed (records hold only its sha256); anything else is taken as the hash.
    session: session !== undefined && kindOfId(session) !== null ? hashSessionId(session) : session,
    subject: flags.subject,
    client_id: flags['client-id'],
    tool: flags.tool,
    server: flags.server,
    kind: flags.kind === undefined ? undefined : kindFlag(flags.kind),
    allow: flags.outcome === undefined ? undefined : outcomeFlag(flags.outcome),
    since: flags.since === undefined ? undefined : timeFlag('--since', flags.since, now),
    until: flags.until === undefined ? undefined : timeFlag('--until', flags.until, now),
    limit: integerFlag('--limit', flags.limit, { min: 1, max: 1000, what: 'an integer from 1 to 1000' }) ?? 100,
    cursor: flags.cursor,
  };
}

function kindFlag(value: string): AuditKind {
  const kind = AUDIT_KINDS.find((k) => k === value);
  if (kind !== undefined) return kind;
  const lower = value.toLowerCase();
  const near = AUDIT_KINDS.filter((k) => lower !== '' && (lower.includes(k) || k.includes(lower)));
  const hint = near.length === 1 ? ` (did you mean ${near[0]}?)` : '';
  throw new UsageError(`--kind ${JSON.stringify(value)} is not an audit kind${hint}: ${AUDIT_KINDS.join(', ')}`);
}

function outcomeFlag(value: string): boolean {
  if (value === 'allow' || value === 'deny') return value === 'allow';
  throw new UsageError(`--outcome must be allow or deny, not ${JSON.stringify(value)}`);
}

/**
 * An RFC 3339 time or one relative to now (`-30m`, `-1h`, `-7d`), as the UTC ISO form the
 * records' `ts` has: the file sink compares them as strings, so an offset must not reach it.
 */
export function timeFlag(flag: string, value: string, now: number): string {
  const relative = RELATIVE.exec(value);
  if (relative !== null) {
    return new Date(now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]).toISOString();
  }
  if (rfc3339.safeParse(value).success && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  throw new UsageError(
    `${flag} ${JSON.stringify(value)} is not a time: give RFC 3339 (2026-12-01T09:00:00Z, ` +
      '2026-12-01T10:00:00+01:00) or a time relative to now (-30m, -1h, -7d; units s, m, h, d)',
  );
}
