import type { FastifyRequest } from 'fastify';
import type { Caller } from '../decision/types.ts';

/**
 * The caller of the decision API. Until API keys exist, the service listens on loopback
 * only (see `service.ts`), and every caller is the local PEP.
 */
export function callerOf(_request: FastifyRequest): Caller {
  return LOCAL_CALLER;
}

const LOCAL_CALLER: Caller = Object.freeze({ id: 'local', role: 'pep' });
