import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';

/** How long a shutdown waits at each step. */
export interface ShutdownOptions {
  /** Readiness reads 503 this long before the listener closes, for load balancers to notice. */
  readonly delayMs: number;
  /** Requests in flight get this long to finish; then their connections are cut. */
  readonly graceMs: number;
  /** After the connections are gone, the longest wait for the parts to stop (the audit flush). */
  readonly stopMs?: number;
}

/** What a shutdown drives besides the app itself. */
export interface Drainable {
  /** Readiness turns 503 while requests are still served (a `Lifecycle` does this). */
  drain(): void;
  /**
   * Refuses new requests and waits up to `graceMs` for the ones in flight, resolving false
   * when some are left; run before `app.close()`, for an app that cuts every connection on
   * close (the proxy does, so that a relayed stream is not left hanging).
   */
  settle?(graceMs: number): Promise<boolean>;
}

/** `clean`: all finished; `forced`: requests were cut at the grace; `timeout`: the parts did not stop in time. */
export type ShutdownResult = 'clean' | 'forced' | 'timeout';

/**
 * Shuts a listening app down in order: readiness turns 503 (draining), then after
 * `delayMs` new requests are refused (the decision service: `shutting_down` and a closed
 * listener; the proxy: 503), requests in flight finish within `graceMs`, and fastify's
 * `onClose` stops the long-lived parts, the audit sink writing what it holds and a final
 * checkpoint.
 */
export async function shutdown(
  app: FastifyInstance,
  target: Drainable,
  options: ShutdownOptions,
): Promise<ShutdownResult> {
  target.drain();
  if (options.delayMs > 0) await sleep(options.delayMs);
  const deadline = sleep(options.graceMs + (options.stopMs ?? 5_000), 'timeout' as const, { ref: false });
  const closing = (async (): Promise<ShutdownResult> => {
    const begun = Date.now();
    const settled = target.settle === undefined || (await target.settle(options.graceMs));
    let forced = !settled;
    const cut = setTimeout(
      () => {
        forced = true;
        app.server.closeAllConnections();
      },
      Math.max(0, options.graceMs - (Date.now() - begun)),
    );
    app.server.once('close', () => clearTimeout(cut));
    try {
      await app.close();
    } finally {
      clearTimeout(cut);
    }
    return forced ? 'forced' : 'clean';
  })();
  return Promise.race([closing, deadline]);
}
