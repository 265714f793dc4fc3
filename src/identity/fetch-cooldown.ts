import { JwksUnavailable } from '../errors.ts';

/**
 * Holds back fetches of one key source after a failure: without it, every request for an
 * issuer whose JWKS or discovery endpoint is down would fetch again — a request storm
 * on the IdP, and each request waiting out the fetch timeout.
 */
export class FetchCooldown {
  readonly #ms: number;
  readonly #now: () => number;
  #failedAt: number | undefined;
  #reason = '';

  /** `seconds` after a failure during which no fetch is tried; `now` in epoch milliseconds. */
  constructor(seconds: number, now: () => number) {
    this.#ms = seconds * 1000;
    this.#now = now;
  }

  /** Throws `jwks_unavailable` while the last failure is more recent than the cooldown. */
  check(): void {
    if (this.#failedAt !== undefined && this.#now() - this.#failedAt < this.#ms) {
      throw new JwksUnavailable(`${this.#reason} (not retried for ${this.#ms / 1000} s after a failure)`);
    }
  }

  failed(reason: string): void {
    this.#failedAt = this.#now();
    this.#reason = reason;
  }

  succeeded(): void {
    this.#failedAt = undefined;
  }
}
