import { auditRecord, recordedPrincipal } from '../audit/record.ts';
import type { CoreDeps } from './deps.ts';

/** Most expiries one sweep records; the next sweep takes the rest. */
const BATCH = 1000;

/**
 * Records the requests and grants that expired unused (`approval.expired`, once each,
 * whichever replica sweeps first), then drops records past their retention. Returns how
 * many expiries it recorded.
 */
export async function sweepApprovals(deps: CoreDeps, caller: string): Promise<number> {
  const approvals = deps.approvals;
  if (approvals === undefined) return 0;
  const now = deps.clock();
  let recorded = 0;
  for (const record of await approvals.store.list({ state: 'expired', limit: BATCH }, now)) {
    if (record.state !== 'pending' && record.state !== 'granted') continue;
    const expired = await approvals.store.transition(
      record.id_hash,
      { from: [record.state], to: 'expired', when: 'expired', set: {} },
      now,
    );
    if (expired === undefined) continue;
    await deps.audit.append(
      auditRecord('approval.expired', now, caller, {
        principal: recordedPrincipal(expired.owner),
        session: expired.session,
        server: expired.server,
        method: 'tools/call',
        tool: expired.tool,
        detail: {
          approval: expired.id,
          binding: expired.binding,
          // What expired: the wait for an approver, or a grant nobody used.
          was: record.state,
          expired_at: new Date(record.state === 'pending' ? record.expires_at : record.grant_expires_at!).toISOString(),
        },
      }),
    );
    recorded += 1;
  }
  await approvals.store.sweep(now);
  return recorded;
}
