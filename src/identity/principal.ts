import { ClaimInvalid } from '../errors.ts';
import { actorsOf, mayActOf, type Actor, type MayAct } from './actor.ts';

/** A verified identity, as policies see it. Built only from a verified token. */
export interface Principal {
  readonly iss: string;
  readonly sub: string;
  readonly client_id: string | null;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  /**
   * Roles and scopes the token asserted that its issuer is not trusted for (its `roles`
   * and `scopes` config): kept out of `roles` and `scopes`, shown so a policy can see them.
   */
  readonly dropped_roles: readonly string[];
  readonly dropped_scopes: readonly string[];
  readonly spiffe_id: string | null;
  readonly kind: 'user' | 'workload';
  /**
   * Who acts for the subject (RFC 8693 `act`, and an agent's JWT-SVID presented beside
   * the token), the most recent actor first; empty when the subject acts itself.
   */
  readonly actor: readonly Actor[];
  /** Who the token says may act for its subject (RFC 8693 `may_act`), or null. */
  readonly may_act: MayAct | null;
  /** The configured selection of claims; never the raw token. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** How an issuer's claims become a principal. */
export interface ClaimMapping {
  /** A claim holding an array of roles (dotted path allowed), or `scope` for the scope string. */
  readonly rolesClaim: string;
  readonly policyClaims: readonly string[];
  /** The roles the issuer may assert; undefined or `["*"]`: any. */
  readonly trustedRoles?: readonly string[] | undefined;
  /** The scopes the issuer may assert; undefined or `["*"]`: any. */
  readonly trustedScopes?: readonly string[] | undefined;
}

/** Splits what a token asserts into what its issuer may assert and the dropped rest. */
function limitTo(asserted: string[], trusted: readonly string[] | undefined): { kept: string[]; dropped: string[] } {
  if (trusted === undefined || trusted.includes('*')) return { kept: asserted, dropped: [] };
  return { kept: asserted.filter((v) => trusted.includes(v)), dropped: asserted.filter((v) => !trusted.includes(v)) };
}

/**
 * The `sub` claim, which must be a non-empty string: a signature proves who issued the
 * claims, not that they are well-typed, and `["alice"]` must not become `alice`.
 */
function subjectOf(claims: Record<string, unknown>): string {
  if (typeof claims.sub !== 'string' || claims.sub === '' || !claims.sub.isWellFormed()) {
    throw new ClaimInvalid('the token claim sub must be a non-empty, well-formed string');
  }
  return claims.sub;
}

/** `client_id` (else `azp`), recorded in every audit record: a lone surrogate is refused. */
function clientIdOf(claims: Record<string, unknown>): string | null {
  const id = stringOrNull(claims.client_id) ?? stringOrNull(claims.azp);
  if (id !== null && !id.isWellFormed())
    throw new ClaimInvalid('the token claim client_id must be a well-formed string');
  return id;
}

/** Maps the verified claims of an access token to a user principal. */
export function principalFromClaims(claims: Record<string, unknown>, mapping: ClaimMapping): Principal {
  const iss = String(claims.iss);
  const asserted = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
  const scopes = limitTo(asserted, mapping.trustedScopes);
  const roles = limitTo(
    mapping.rolesClaim === 'scope' ? asserted : stringArray(readPath(claims, mapping.rolesClaim)),
    mapping.trustedRoles,
  );
  return {
    iss,
    sub: subjectOf(claims),
    client_id: clientIdOf(claims),
    scopes: scopes.kept,
    roles: roles.kept,
    dropped_roles: roles.dropped,
    dropped_scopes: scopes.dropped,
    spiffe_id: null,
    kind: 'user',
    actor: actorsOf(claims, iss),
    may_act: mayActOf(claims),
    claims: pick(claims, mapping.policyClaims),
  };
}

/** Maps a verified JWT-SVID to a workload principal. */
export function principalFromSvid(claims: Record<string, unknown>, trustDomain: string): Principal {
  const sub = subjectOf(claims);
  return {
    iss: `spiffe://${trustDomain}`,
    sub,
    client_id: null,
    scopes: [],
    roles: [],
    dropped_roles: [],
    dropped_scopes: [],
    spiffe_id: sub,
    kind: 'workload',
    actor: [],
    may_act: null,
    claims: pick(claims, ['aud', 'exp', 'iat']),
  };
}

function pick(claims: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const selected: Record<string, unknown> = {};
  for (const name of names) if (claims[name] !== undefined) selected[name] = claims[name];
  return selected;
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function stringArray(v: unknown): string[] {
  if (typeof v === 'string') return v.split(' ').filter(Boolean);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Reads a dotted claim path such as `realm_access.roles`. */
function readPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
