import type { AuditKind } from '../../audit/record.ts';
import type { CoreDeps } from '../../decision/deps.ts';
import type { SessionRecord } from '../../session/record.ts';
import type { ConsoleConfig } from '../../config/console.ts';
import { isExpired } from '../../session/record.ts';

/** Why a session deserves a look. */
export type ReviewFlag = 'delegated' | 'shared' | 'long-lived' | 'widened' | 'idle';

/** A live session of the queue, with its flags and its last review, if any. */
export interface ReviewItem {
  readonly record: SessionRecord;
  readonly flags: readonly ReviewFlag[];
  /** The latest `session.reviewed` of it, when it came after its latest widening. */
  readonly reviewedAt: string | null;
}

/** Most live records and audit records the queue reads. */
const MAX_RECORDS = 50_000;

/**
 * The sessions that carry agent context and deserve a look (docs/console.md): live ones
 * that are delegated (an actor chain), of a shared principal (`principal.shared` within
 * the last day), long-lived, widened, or unused for a while. A review (`session.reviewed`)
 * after the latest widening takes a session off the queue. Built from the store and the
 * audit trail: nothing but the audit trail remembers a review.
 */
export async function reviewQueue(
  core: CoreDeps,
  thresholds: ConsoleConfig['review'],
  includeReviewed: boolean,
): Promise<ReviewItem[]> {
  const now = core.clock();
  const live = (await core.sessions.list({}, MAX_RECORDS)).filter((r) => r.revoked_at === null && !isExpired(r, now));
  if (live.length === 0) return [];
  const oldest = Math.min(...live.map((r) => r.created_at));
  const since = new Date(Math.min(oldest, now - 86_400_000)).toISOString();
  const widened = await latestBySession(core, 'session.widened', since);
  const reviewed = await latestBySession(core, 'session.reviewed', since);
  const shared = new Set<string>();
  for (const r of await recordsOf(core, 'principal.shared', new Date(now - 86_400_000).toISOString())) {
    if (r.principal !== null) shared.add(JSON.stringify([r.principal.iss, r.principal.sub]));
  }
  const items: ReviewItem[] = [];
  for (const record of live) {
    const flags: ReviewFlag[] = [];
    if ((record.owner.actor ?? []).length > 0) flags.push('delegated');
    if (shared.has(JSON.stringify([record.owner.iss, record.owner.sub]))) flags.push('shared');
    if (now - record.created_at >= thresholds.long_lived_seconds * 1000) flags.push('long-lived');
    if (widened.has(record.id_hash)) flags.push('widened');
    if (now - record.last_seen_at >= thresholds.idle_seconds * 1000) flags.push('idle');
    if (flags.length === 0) continue;
    const review = reviewed.get(record.id_hash);
    const current = review !== undefined && review >= (widened.get(record.id_hash) ?? '') ? review : null;
    if (current !== null && !includeReviewed) continue;
    items.push({ record, flags, reviewedAt: current });
  }
  return items;
}

async function recordsOf(core: CoreDeps, kind: AuditKind, since: string) {
  const out = [];
  let cursor: string | undefined;
  do {
    const page = await core.audit.query({ kind, since, limit: 1000, cursor });
    out.push(...page.records);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined && out.length < MAX_RECORDS);
  return out;
}

/** The time of the latest record of `kind` per session hash. */
async function latestBySession(core: CoreDeps, kind: AuditKind, since: string): Promise<Map<string, string>> {
  const latest = new Map<string, string>();
  for (const r of await recordsOf(core, kind, since)) {
    if (r.session !== null && (latest.get(r.session) ?? '') < r.ts) latest.set(r.session, r.ts);
  }
  return latest;
}
