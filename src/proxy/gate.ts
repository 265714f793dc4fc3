import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Counts the MCP requests the proxy is serving, and stops taking new ones on shutdown:
 * a stream relayed to a client is not cut while it may still finish.
 */
export class RequestGate {
  #inFlight = 0;
  #closing = false;

  /** Whether a new request may start (it must then `leave()`). */
  enter(): boolean {
    if (this.#closing) return false;
    this.#inFlight++;
    return true;
  }

  leave(): void {
    this.#inFlight--;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Refuses new requests, then waits up to `graceMs` for the ones in flight; true when none is left. */
  async drain(graceMs: number): Promise<boolean> {
    this.#closing = true;
    const until = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < until) await sleep(20);
    return this.#inFlight === 0;
  }
}
