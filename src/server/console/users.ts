import type { ConsoleConfig } from '../../config/console.ts';
import type { Caller } from '../../decision/types.ts';

/** What a console user may do: look (viewer), revoke and review (responder), see the approvals queue (approver). */
export type ConsoleRole = 'viewer' | 'responder' | 'approver';

/** A signed-in console user. The token is not kept: the roles were read from it once, verified. */
export interface ConsoleUser {
  readonly iss: string;
  readonly sub: string;
  /** Never empty: a sign-in without a console role is refused. */
  readonly roles: readonly ConsoleRole[];
  /** The forms' CSRF token, one per sign-in. */
  readonly csrf: string;
}

/**
 * The console roles an issuer's roles grant (`console.roles`). Responders and approvers
 * also view: they cannot act on what they cannot see.
 */
export function consoleRoles(roles: readonly string[], mapping: ConsoleConfig['roles']): ConsoleRole[] {
  const has = (values: readonly string[]) => values.some((v) => roles.includes(v));
  const granted: ConsoleRole[] = [];
  if (has(mapping.viewer) || has(mapping.responder) || has(mapping.approver)) granted.push('viewer');
  if (has(mapping.responder)) granted.push('responder');
  if (has(mapping.approver)) granted.push('approver');
  return granted;
}

/**
 * The API caller a console user acts as: an admin, named after the user, so every record
 * of a console action says who did it (`caller`, `detail.by.caller`).
 */
export function consoleCaller(user: Pick<ConsoleUser, 'sub'>): Caller {
  return { id: `console:${user.sub}`, role: 'admin' };
}
