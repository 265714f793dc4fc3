/** Where a service stands: serving, draining for shutdown (readiness 503, still serving), or closing. */
export type Phase = 'serving' | 'draining' | 'closing';

/**
 * The shutdown phase of one service, read by `/readyz` and the request gate. Draining
 * comes first so that load balancers stop sending work while the listener still takes
 * it; closing refuses new requests while the ones in flight finish.
 */
export class Lifecycle {
  #phase: Phase = 'serving';

  get phase(): Phase {
    return this.#phase;
  }

  /** Readiness turns 503; requests are still served. */
  drain(): void {
    if (this.#phase === 'serving') this.#phase = 'draining';
  }

  /** New requests are refused with `shutting_down`; probes still answer. */
  close(): void {
    this.#phase = 'closing';
  }
}
