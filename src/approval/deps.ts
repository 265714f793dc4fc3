import type { ApprovalStore } from './record.ts';

/** What the approval flow runs on (config `approvals`, docs/approvals.md). */
export interface ApprovalDeps {
  readonly store: ApprovalStore;
  /** The approval page, where `<page_url>/<id>` is one request's; null when none is served. */
  readonly pageUrl: string | null;
  /** How long a parked call waits for an approver, unless the obligation asks less. */
  readonly requestTtlSeconds: number;
  /** How long a grant waits for its use, unless the obligation says otherwise. */
  readonly grantTtlSeconds: number;
  /** The longest either may be, whatever the obligation asks. */
  readonly maxRequestTtlSeconds: number;
  readonly maxGrantTtlSeconds: number;
}

/** The URL of one request's page, or null. */
export function approvalUrl(deps: ApprovalDeps, id: string): string | null {
  return deps.pageUrl === null ? null : `${deps.pageUrl.replace(/\/+$/, '')}/${id}`;
}
