import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { RateLimited } from '../errors.ts';
import type { CallerAuth } from './caller.ts';

/** `server.rate_limit`: requests per caller per window. */
export interface RateLimitOptions {
  readonly max: number;
  readonly timeWindowMs: number;
}

/**
 * Limits requests per caller: the id of a valid API key (so a gateway is limited as one
 * caller, wherever its connections come from), else the client address (so a flood of
 * bad keys is limited too). Over the limit: 429 `rate_limited` with `retry-after`.
 * Counted in memory, per process. Routes opt out with `config: { rateLimit: false }`
 * (the probes and `/metrics`).
 */
export async function installRateLimit(
  app: FastifyInstance,
  auth: CallerAuth,
  options: RateLimitOptions,
): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: options.max,
    timeWindow: options.timeWindowMs,
    keyGenerator: (request) => {
      const caller = auth.identify(request);
      return caller === null ? `address:${request.ip}` : `caller:${caller}`;
    },
    errorResponseBuilder: (_request, context) =>
      new RateLimited(`more than ${context.max} requests in ${options.timeWindowMs} ms; retry in ${context.after}`),
  });
}
