import { hashSessionId } from '../session/ids.ts';

/**
 * Legacy sessions: the warden session id the client holds, mapped to the upstream's own
 * `Mcp-Session-Id` (null for a stateless upstream). Keyed by the id's sha256, like the
 * session store; the upstream id never leaves the proxy. Bounded: beyond `max`, the
 * oldest mapping is dropped (its client gets 404 and re-initializes). Beside it, whether
 * the session's client declared URL-mode elicitation at initialize (how a call parked for
 * approval is answered).
 */
export class SessionMap {
  readonly #entries = new Map<string, string | null>();
  readonly #urlElicitation = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Records a new mapping; returns the mapping dropped to make room, if any. */
  set(wardenId: string, upstreamId: string | null, urlElicitation = false): string | null | undefined {
    const key = hashSessionId(wardenId);
    this.#entries.set(key, upstreamId);
    if (urlElicitation) this.#urlElicitation.add(key);
    if (this.#entries.size <= this.#max) return undefined;
    const [oldest, upstream] = this.#entries.entries().next().value as [string, string | null];
    this.#entries.delete(oldest);
    this.#urlElicitation.delete(oldest);
    return upstream;
  }

  /** Whether the session's client declared URL-mode elicitation. */
  acceptsUrlElicitation(wardenId: string): boolean {
    return this.#urlElicitation.has(hashSessionId(wardenId));
  }

  /** The upstream id for a warden id: a string, null (stateless upstream), or undefined (unknown). */
  get(wardenId: string): string | null | undefined {
    return this.#entries.get(hashSessionId(wardenId));
  }

  /** The key a warden id is kept under (its sha256): never the id itself. */
  keyOf(wardenId: string): string {
    return hashSessionId(wardenId);
  }

  delete(wardenId: string): string | null | undefined {
    const key = hashSessionId(wardenId);
    const upstream = this.#entries.get(key);
    this.#entries.delete(key);
    this.#urlElicitation.delete(key);
    return upstream;
  }

  get size(): number {
    return this.#entries.size;
  }
}
