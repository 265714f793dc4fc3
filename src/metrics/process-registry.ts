import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | undefined;

/**
 * prom-client's default process metrics (CPU, RSS, heap, event-loop lag, GC), in one
 * registry per process. They describe the process, not a service instance, and turning
 * them on starts an event-loop monitor and a GC observer that are never turned off, so
 * every service instance in a process shares this one rather than starting its own.
 */
export function processRegistry(): Registry {
  if (shared === undefined) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
