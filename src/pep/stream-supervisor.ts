import { codesOf, type Reason } from '../errors.ts';
import type { LivenessItem, Warden } from './warden.ts';

/** Options of {@link StreamSupervisor}. */
export interface StreamSupervisorOptions {
  readonly warden: Warden;
  /** How often the authority of open streams is checked (one batched call per round). */
  readonly intervalMs: number;
  /**
   * How long a stream may stay open while the warden cannot be asked; past it the stream
   * is cut (fail closed), a blip shorter than it cuts nothing.
   */
  readonly unavailableGraceMs: number;
}

interface Watched {
  readonly item: LivenessItem;
  readonly cut: (reason: Reason) => void;
  lastLive: number;
}

const UNAVAILABLE = codesOf('unavailable');

/**
 * Ends open streams (a legacy GET stream, a long POST answer, a guarded transport) when
 * the authority they were opened under ends: the session revoked (here, through the API
 * of a remote service, or on another replica), expired, the principal revoked, or the
 * token expired. Every `intervalMs` the open streams are checked in one batch
 * (`Warden.liveness`: no policy, no audit record); a stream whose check fails is cut.
 */
export class StreamSupervisor {
  readonly #options: StreamSupervisorOptions;
  readonly #streams = new Set<Watched>();
  #timer: NodeJS.Timeout | undefined;
  #checking = false;

  constructor(options: StreamSupervisorOptions) {
    if (!(options.intervalMs > 0)) throw new TypeError('intervalMs must be positive');
    this.#options = options;
  }

  /** Watches a stream until it ends; the returned function stops watching it. */
  watch(item: LivenessItem, cut: (reason: Reason) => void): () => void {
    const watched: Watched = { item, cut, lastLive: Date.now() };
    this.#streams.add(watched);
    this.#schedule();
    return () => {
      this.#streams.delete(watched);
    };
  }

  /** Cuts at once every stream of a session this PEP ended itself (a DELETE). */
  cutSession(session: string, reason: Reason): void {
    for (const watched of [...this.#streams]) if (watched.item.session === session) this.#cut(watched, reason);
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Stops checking; open streams are left to their own end. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#streams.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#check().finally(() => this.#schedule());
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const streams = [...this.#streams];
      // Streams of one token and session are asked about once.
      const keys = new Map<string, number>();
      const items: LivenessItem[] = [];
      const index = streams.map(({ item }) => {
        const key = JSON.stringify([item.token ?? null, item.session ?? null, item.server]);
        let i = keys.get(key);
        if (i === undefined) {
          i = items.push(item) - 1;
          keys.set(key, i);
        }
        return i;
      });
      const results = await this.#options.warden.liveness(items);
      const now = Date.now();
      streams.forEach((watched, i) => {
        const reason = results[index[i]!] ?? null;
        if (reason === null) watched.lastLive = now;
        else if (!UNAVAILABLE.has(reason.code) || now - watched.lastLive >= this.#options.unavailableGraceMs)
          this.#cut(watched, reason);
      });
    } finally {
      this.#checking = false;
    }
  }

  #cut(watched: Watched, reason: Reason): void {
    if (!this.#streams.delete(watched)) return;
    watched.cut(reason);
  }
}
