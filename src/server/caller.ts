import { hash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ApiKeyConfig } from '../config/callers.ts';
import type { Caller, CallerRole } from '../decision/types.ts';
import { CallerForbidden, CallerUnauthenticated } from '../errors.ts';

/** Resolves the caller of a request from its API key, or refuses it. */
export interface CallerAuth {
  /** Whether API keys are configured (else every caller is `local`). */
  readonly enabled: boolean;
  /** The caller, if allowed one of `roles`; throws 401/403 coded errors otherwise. */
  authorize(request: FastifyRequest, roles: readonly CallerRole[]): Caller;
  /** The id of the caller a request's valid, enabled key belongs to, whatever its role; else null. */
  identify(request: FastifyRequest): string | null;
  /** As {@link authorize}, for a key presented otherwise (a form): null for none. */
  authorizeKey(key: string | null, roles: readonly CallerRole[]): Caller;
}

const LOCAL: Caller = Object.freeze({ id: 'local', role: 'local' });

/** Options of {@link createCallerAuth}. */
export interface CallerAuthOptions {
  /** Dev mode: the keyless `local` caller may use admin routes too (the quickstart needs no key). */
  readonly localAdmin?: boolean | undefined;
}

/**
 * API keys travel as `Authorization: Bearer <key>`; the service keeps only their sha256,
 * so a lookup by hash is all there is to compare (nothing to time).
 *
 * Without keys every request is the `local` caller's: it decides and manages sessions
 * (`pep`) and scrapes `/metrics`, but outside dev mode it may not bulk-revoke, reload the
 * policy, read sessions or the audit. Anything that reaches the loopback port is `local`
 * (another user's process, a rebound page the Host check missed), so operating stays
 * behind an admin key.
 */
export function createCallerAuth(keys: readonly ApiKeyConfig[], options: CallerAuthOptions = {}): CallerAuth {
  const byHash = new Map(keys.map((k) => [k.sha256, k]));
  const localRoles: readonly CallerRole[] =
    options.localAdmin === true ? ['pep', 'metrics', 'admin'] : ['pep', 'metrics'];
  const presented = (request: FastifyRequest): string | null => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{16,512})$/.exec(header) : null;
    return match === null ? null : (match[1] as string);
  };
  const authorizeKey = (key: string | null, roles: readonly CallerRole[], missing: () => string): Caller => {
    if (byHash.size === 0) {
      if (roles.some((role) => localRoles.includes(role))) return LOCAL;
      throw new CallerForbidden('admin routes need an admin API key (callers.api_keys), or dev mode without keys');
    }
    if (key === null) throw new CallerUnauthenticated(missing());
    const entry = byHash.get(hash('sha256', key, 'hex'));
    if (entry === undefined) throw new CallerUnauthenticated('the API key is not valid');
    if (entry.disabled) throw new CallerUnauthenticated('the API key was revoked');
    if (!roles.includes(entry.role)) throw new CallerForbidden(`the ${entry.role} role may not use this route`);
    return entry.servers === undefined
      ? { id: entry.id, role: entry.role }
      : { id: entry.id, role: entry.role, servers: entry.servers };
  };
  return {
    enabled: keys.length > 0,
    authorize(request, roles) {
      return authorizeKey(presented(request), roles, () => missingKeyMessage(request.headers.authorization));
    },
    authorizeKey(key, roles) {
      return authorizeKey(key, roles, () => 'an API key is required');
    },
    identify(request) {
      if (byHash.size === 0) return LOCAL.id;
      const key = presented(request);
      const entry = key === null ? undefined : byHash.get(hash('sha256', key, 'hex'));
      return entry === undefined || entry.disabled ? null : entry.id;
    },
  };
}

/** Why no key was read from an Authorization header: absent, another scheme, or not a key's shape. */
function missingKeyMessage(header: string | string[] | undefined): string {
  if (header === undefined) return 'an API key is required: Authorization: Bearer <key>';
  if (typeof header !== 'string' || !/^Bearer /.test(header)) {
    return 'the Authorization header is not "Bearer <key>": send the API key as Authorization: Bearer <key>';
  }
  return 'the API key is malformed: 16 to 512 printable ASCII characters, no spaces (mcp-warden api-key makes one)';
}
