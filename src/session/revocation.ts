/** What a principal revocation names. */
export type RevocationSelector = 'subject' | 'client' | 'token' | 'jti';

/**
 * A principal revocation, kept in the session store next to the sessions, so that every
 * replica sees it at the next request, in every MCP era. Times are epoch milliseconds.
 *
 * - `subject` (`iss` + `sub`; `iss` null for any issuer; `client_id` set to narrow it to
 *   that client's tokens of the subject) and `client` (`client_id`) deny every token of
 *   that subject or client issued (`iat`) at or before `revoked_at`: a token issued later
 *   passes, so an operator disables the user at the IdP, and the IdP's new tokens work
 *   again once it re-enables them.
 * - `token` (`token_sha256`) and `jti` (`iss` + `jti`) deny that token, whenever issued.
 *
 * Every rule lives until `expires_at` (`revoked_at` plus the retention, at least the longest
 * token lifetime: past it no token it covers can still verify), then may be swept.
 */
export interface PrincipalRevocation {
  readonly selector: RevocationSelector;
  readonly iss: string | null;
  readonly sub: string | null;
  readonly client_id: string | null;
  readonly token_sha256: string | null;
  readonly jti: string | null;
  readonly revoked_at: number;
  readonly expires_at: number;
  /** The caller that recorded it. */
  readonly revoked_by: string;
  readonly note: string | null;
}

/** A rule to record; the store sets `expires_at` from its retention. */
export type NewPrincipalRevocation = Omit<PrincipalRevocation, 'expires_at'>;

/** What a verified request says about its principal, for {@link revocationLookup}. */
export interface TokenFacts {
  readonly iss: string;
  readonly sub: string;
  readonly client_id: string | null;
  /** Hex sha256 of the raw token. */
  readonly token_sha256: string | null;
  readonly jti: string | null;
  /** The token's `iat`, in epoch milliseconds; null when it has none (treated as issued before every rule). */
  readonly issued_at: number | null;
}

/** The store keys one request's principal may be revoked under, and its issue time. */
export interface RevocationLookup {
  readonly keys: readonly string[];
  readonly issuedAt: number | null;
}

/** The one key a rule is stored under (without the store's prefix). */
export function revocationKey(rule: NewPrincipalRevocation): string {
  switch (rule.selector) {
    case 'subject':
      return rule.client_id === null
        ? subjectKey(rule.iss, rule.sub)
        : subjectClientKey(rule.iss, rule.sub, rule.client_id);
    case 'client':
      return `c:${JSON.stringify(rule.client_id)}`;
    case 'token':
      return `t:${rule.token_sha256}`;
    case 'jti':
      return `j:${JSON.stringify([rule.iss, rule.jti])}`;
  }
}

/**
 * Every key a rule covering this principal can be stored under (at most 7), so a store
 * answers with one lookup per key, or one MGET: the cost does not grow with the rules.
 */
export function revocationLookup(facts: TokenFacts): RevocationLookup {
  const keys = [subjectKey(facts.iss, facts.sub), subjectKey(null, facts.sub)];
  if (facts.client_id !== null) {
    keys.push(
      subjectClientKey(facts.iss, facts.sub, facts.client_id),
      subjectClientKey(null, facts.sub, facts.client_id),
      `c:${JSON.stringify(facts.client_id)}`,
    );
  }
  if (facts.token_sha256 !== null) keys.push(`t:${facts.token_sha256}`);
  if (facts.jti !== null) keys.push(`j:${JSON.stringify([facts.iss, facts.jti])}`);
  return { keys, issuedAt: facts.issued_at };
}

/** The first of `found` (in lookup order) that is live at `now` and covers the token. */
export function firstApplicable(
  found: Iterable<PrincipalRevocation | undefined>,
  lookup: RevocationLookup,
  now: number,
): PrincipalRevocation | undefined {
  for (const rule of found) {
    if (rule !== undefined && now < rule.expires_at && covers(rule, lookup.issuedAt)) return rule;
  }
  return undefined;
}

/** Subject and client rules stop at tokens issued after them; token and jti rules never do. */
function covers(rule: PrincipalRevocation, issuedAt: number | null): boolean {
  if (rule.selector === 'token' || rule.selector === 'jti') return true;
  return issuedAt === null || issuedAt <= rule.revoked_at;
}

function subjectKey(iss: string | null, sub: string | null): string {
  return `s:${JSON.stringify([iss, sub])}`;
}

function subjectClientKey(iss: string | null, sub: string | null, clientId: string): string {
  return `sc:${JSON.stringify([iss, sub, clientId])}`;
}

/** How long a rule is kept when a store is given no retention: 24 h, a generous token lifetime. */
export const DEFAULT_REVOCATION_RETAIN_MS = 24 * 3600 * 1000;
