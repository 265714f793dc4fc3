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
}

const LOCAL: Caller = Object.freeze({ id: 'local', role: 'local' });

/**
 * API keys travel as `Authorization: Bearer <key>`; the service keeps only their sha256,
 * so a lookup by hash is all there is to compare (nothing to time).
 */
export function createCallerAuth(keys: readonly ApiKeyConfig[]): CallerAuth {
  const byHash = new Map(keys.map((k) => [k.sha256, k]));
  const presented = (request: FastifyRequest): string | null => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{16,512})$/.exec(header) : null;
    return match === null ? null : (match[1] as string);
  };
  return {
    enabled: keys.length > 0,
    authorize(request, roles) {
      if (byHash.size === 0) return LOCAL;
      const key = presented(request);
      if (key === null) throw new CallerUnauthenticated('an API key is required: Authorization: Bearer <key>');
      const entry = byHash.get(hash('sha256', key, 'hex'));
      if (entry === undefined) throw new CallerUnauthenticated('the API key is not valid');
      if (entry.disabled) throw new CallerUnauthenticated('the API key was revoked');
      if (!roles.includes(entry.role)) throw new CallerForbidden(`the ${entry.role} role may not use this route`);
      return { id: entry.id, role: entry.role };
    },
    identify(request) {
      if (byHash.size === 0) return LOCAL.id;
      const key = presented(request);
      const entry = key === null ? undefined : byHash.get(hash('sha256', key, 'hex'));
      return entry === undefined || entry.disabled ? null : entry.id;
    },
  };
}
