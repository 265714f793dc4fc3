import { PolicyUnavailable } from '../errors.ts';
import type { PolicyEngine } from './engine.ts';

/**
 * The policy in force. Decisions read it once at their start and keep that engine to
 * the end, so swapping in a new one never changes a decision half-way.
 */
export class ActivePolicy {
  #engine: PolicyEngine | undefined;

  constructor(engine?: PolicyEngine) {
    this.#engine = engine;
  }

  /** The engine in force; throws `policy_unavailable` when none is loaded. */
  get(): PolicyEngine {
    if (this.#engine === undefined) throw new PolicyUnavailable('no policy is loaded');
    return this.#engine;
  }

  activate(engine: PolicyEngine): void {
    this.#engine = engine;
  }

  get revision(): string | null {
    return this.#engine?.revision ?? null;
  }
}
