/** A sign-in under way: what the callback needs to finish it. */
export interface SignInFlow {
  readonly state: string;
  readonly verifier: string;
  readonly approvalId: string;
  /** The approval's server: the `resource` the token is asked for. */
  readonly resource: string;
}

/** A signed-in approver, for one approval request and one decision. */
export interface PageSession {
  /** The approver's access token: what decides. Never logged, never sent to the browser. */
  readonly token: string;
  /** The token's `sub`, decoded for display only (the decision verifies the token). */
  readonly sub: string;
  readonly approvalId: string;
  /** The form's CSRF token. */
  readonly csrf: string;
}

/** How long a sign-in may take, and a page session last: ten minutes. */
export const PAGE_TTL_MS = 10 * 60 * 1000;
/** How many of each one process keeps. */
export const PAGE_MAX_ENTRIES = 1000;
