import type { SessionRecord } from './record.ts';

const EMPTY_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * One copy of the values many live records repeat (the server, the creating caller, an
 * owner, a scope): 100,000 sessions of a few principals then hold a few hundred strings
 * and arrays, not 100,000 copies of each. Bounded: past `max` distinct values it starts
 * over (records keep what they point to; only sharing is lost). Records are immutable,
 * so sharing is safe.
 */
export class SharedValues {
  readonly #values = new Map<string, unknown>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** `record` with its repeated values shared. */
  compact(record: SessionRecord): SessionRecord {
    const { owner } = record;
    return {
      ...record,
      server: this.#share(`s:${record.server}`, record.server),
      created_by: this.#share(`c:${record.created_by}`, record.created_by),
      owner: this.#share(
        `o:${JSON.stringify([owner.iss, owner.sub, owner.client_id, owner.spiffe_id, owner.actor])}`,
        owner,
      ),
      scope: this.#share(`t:${JSON.stringify(record.scope)}`, record.scope),
      context: Object.keys(record.context).length === 0 ? EMPTY_CONTEXT : record.context,
    };
  }

  #share<T>(key: string, value: T): T {
    const known = this.#values.get(key);
    if (known !== undefined) return known as T;
    if (this.#values.size >= this.#max) this.#values.clear();
    this.#values.set(key, value);
    return value;
  }
}
