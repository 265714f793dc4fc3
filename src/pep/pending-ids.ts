import { DuplicateId } from '../errors.ts';
import type { HandleResult } from '../policy/handle-result.ts';
import type { ClientMessage, JsonRpcId } from './message.ts';

/** A request in flight: its id, its method, and where its result carries a handle to bind. */
export interface PendingRequest {
  readonly id: JsonRpcId;
  readonly method: string;
  readonly handleResult?: HandleResult | undefined;
}

/**
 * The key an id is compared under. `1` and `"1"` are distinct JSON-RPC ids, but not to
 * every SDK: they share a key here, so that no upstream can route one's answer to the other.
 */
function keyOf(id: JsonRpcId): string {
  return String(id);
}

/** A request id repeated within one batch, or undefined. */
export function duplicateInBatch(messages: readonly ClientMessage[]): DuplicateId | undefined {
  const seen = new Set<string>();
  for (const message of messages) {
    if (message.type !== 'request') continue;
    const key = keyOf(message.id);
    if (seen.has(key)) return new DuplicateId(`the request id ${JSON.stringify(message.id)} repeats within the batch`);
    seen.add(key);
  }
  return undefined;
}

/**
 * The request ids in flight on each session (or stream), with the method each asked for.
 * A request whose id is still pending is refused: two requests with one id let a server
 * (or an SDK that keys answers by id) hand one's answer to the other, past the filter
 * meant for it.
 */
export class PendingIds {
  readonly #byScope = new Map<string, Map<string, PendingRequest>>();

  /**
   * Claims the ids of `requests` in `scope`; returns the error for the first already
   * pending (claiming none), else a release for when their answers are done.
   */
  claim(scope: string, requests: readonly PendingRequest[]): DuplicateId | (() => void) {
    const pending = this.#byScope.get(scope) ?? new Map<string, PendingRequest>();
    for (const { id } of requests) {
      if (pending.has(keyOf(id)))
        return new DuplicateId(`the request id ${JSON.stringify(id)} is still pending on this session`);
    }
    for (const request of requests) pending.set(keyOf(request.id), request);
    if (pending.size > 0) this.#byScope.set(scope, pending);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const { id } of requests) pending.delete(keyOf(id));
      if (pending.size === 0 && this.#byScope.get(scope) === pending) this.#byScope.delete(scope);
    };
  }

  /** The method of a pending request, by the id its answer carries. */
  methodOf(scope: string, id: unknown): string | undefined {
    return this.requestOf(scope, id)?.method;
  }

  /** The pending request an answer's id names, or undefined. */
  requestOf(scope: string, id: unknown): PendingRequest | undefined {
    if (typeof id !== 'string' && typeof id !== 'number') return undefined;
    return this.#byScope.get(scope)?.get(keyOf(id));
  }

  /** Forgets a scope (its session ended). */
  drop(scope: string): void {
    this.#byScope.delete(scope);
  }
}
