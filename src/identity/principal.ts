/** A verified identity, as policies see it. Built only from a verified token. */
export interface Principal {
  readonly iss: string;
  readonly sub: string;
  readonly client_id: string | null;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly spiffe_id: string | null;
  readonly kind: 'user' | 'workload';
  /** Selected claims for policy; never the raw token. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Claims passed to policy as `principal.claims` (the rest stay out of policy input). */
const POLICY_CLAIMS = ['aud', 'exp', 'iat', 'azp', 'email', 'name', 'groups', 'tenant'] as const;

/** Maps verified JWT claims to a principal. */
export function principalFromClaims(claims: Record<string, unknown>, rolesClaim: string): Principal {
  const sub = String(claims.sub);
  const spiffe = sub.startsWith('spiffe://') ? sub : null;
  const selected: Record<string, unknown> = {};
  for (const name of POLICY_CLAIMS) if (claims[name] !== undefined) selected[name] = claims[name];
  return {
    iss: String(claims.iss),
    sub,
    client_id: stringOrNull(claims.client_id) ?? stringOrNull(claims.azp),
    scopes: typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [],
    roles: stringArray(readPath(claims, rolesClaim)),
    spiffe_id: spiffe,
    kind: spiffe ? 'workload' : 'user',
    claims: selected,
  };
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function stringArray(v: unknown): string[] {
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
