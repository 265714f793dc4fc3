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
}

const LOCAL: Caller = Object.freeze({ id: 'local', role: 'local' });

/**
 * API keys travel as `Authorization: Bearer <key>`; the service keeps only their sha256,
 * so a lookup by hash is all there is to compare (nothing to time).
 */
export function createCallerAuth(keys: readonly ApiKeyConfig[]): CallerAuth {
  const byHash = new Map(keys.map((k) => [k.sha256, k]));
  return {
    enabled: keys.length > 0,
    authorize(request, roles) {
      if (byHash.size === 0) return LOCAL;
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{16,512})$/.exec(header) : null;
      if (match === null) throw new CallerUnauthenticated('an API key is required: Authorization: Bearer <key>');
      const entry = byHash.get(hash('sha256', match[1] as string, 'hex'));
      if (entry === undefined) throw new CallerUnauthenticated('the API key is not valid');
      if (entry.disabled) throw new CallerUnauthenticated('the API key was revoked');
      if (!roles.includes(entry.role)) throw new CallerForbidden(`the ${entry.role} role may not use this route`);
      return { id: entry.id, role: entry.role };
    },
  };
}
