import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from './lifecycle.ts';

/** How long a shutdown waits at each step. */
export interface ShutdownOptions {
  /** Readiness reads 503 this long before the listener closes, for load balancers to notice. */
  readonly delayMs: number;
  /** Requests in flight get this long to finish; then their connections are cut. */
  readonly graceMs: number;
  /** After the connections are gone, the longest wait for the parts to stop (the audit flush). */
  readonly stopMs?: number;
}

/** `clean`: all finished; `forced`: requests were cut at the grace; `timeout`: the parts did not stop in time. */
export type ShutdownResult = 'clean' | 'forced' | 'timeout';

/**
 * Shuts a listening service down in order: readiness turns 503 (draining), then after
 * `delayMs` the listener closes and new requests are refused (`shutting_down`), requests
 * in flight finish within `graceMs`, and fastify's `onClose` stops the reloader, the
 * session store and the audit sink, which writes what it holds and a final checkpoint.
 */
export async function shutdown(app: FastifyInstance, lifecycle: Lifecycle, options: ShutdownOptions): Promise<ShutdownResult> {
  lifecycle.drain();
  if (options.delayMs > 0) await sleep(options.delayMs);
  let forced = false;
  const cut = setTimeout(() => {
    forced = true;
    app.server.closeAllConnections();
  }, options.graceMs);
  app.server.once('close', () => clearTimeout(cut));
  const closed = app.close().then((): ShutdownResult => (forced ? 'forced' : 'clean'));
  const deadline = sleep(options.graceMs + (options.stopMs ?? 5_000), 'timeout' as const, { ref: false });
  try {
    return await Promise.race([closed, deadline]);
  } finally {
    clearTimeout(cut);
  }
}
