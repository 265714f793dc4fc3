import {
  applied,
  applies,
  droppableAt,
  stateAt,
  type ApprovalQuery,
  type ApprovalRecord,
  type ApprovalStore,
  type ApprovalTransition,
} from './record.ts';

/** How long records are kept: the grant cap (a record lives that long past its request) and the retention after. */
export interface ApprovalStoreOptions {
  readonly maxGrantMs: number;
  readonly retainMs: number;
}

/** The embedded default: one process, records in a Map. Every method runs without an `await`, so each is atomic. */
export class MemoryApprovalStore implements ApprovalStore {
  /** By id hash, in insertion (creation) order. */
  readonly #records = new Map<string, ApprovalRecord>();
  /** The record each binding names. */
  readonly #bindings = new Map<string, string>();
  readonly #options: ApprovalStoreOptions;

  constructor(options: ApprovalStoreOptions) {
    this.#options = options;
  }

  async park(record: ApprovalRecord, now: number): Promise<{ record: ApprovalRecord; created: boolean }> {
    const current = this.#byBinding(record.binding);
    if (current !== undefined) {
      const state = stateAt(current, now);
      if (state === 'pending' || state === 'granted') return { record: current, created: false };
    }
    if (this.#records.has(record.id_hash)) throw new Error('approval id collision');
    this.#records.set(record.id_hash, record);
    this.#bindings.set(record.binding, record.id_hash);
    return { record, created: true };
  }

  async get(idHash: string): Promise<ApprovalRecord | undefined> {
    return this.#records.get(idHash);
  }

  async byBinding(binding: string): Promise<ApprovalRecord | undefined> {
    return this.#byBinding(binding);
  }

  async transition(idHash: string, step: ApprovalTransition, now: number): Promise<ApprovalRecord | undefined> {
    const record = this.#records.get(idHash);
    if (record === undefined || !applies(record, step, now)) return undefined;
    const next = applied(record, step);
    this.#records.set(idHash, next);
    return next;
  }

  async list(query: ApprovalQuery, now: number): Promise<ApprovalRecord[]> {
    const found: ApprovalRecord[] = [];
    for (const record of [...this.#records.values()].reverse()) {
      if (found.length >= query.limit) break;
      if (query.state !== undefined && stateAt(record, now) !== query.state) continue;
      if (query.server !== undefined && record.server !== query.server) continue;
      found.push(record);
    }
    return found;
  }

  async sweep(now: number): Promise<number> {
    let dropped = 0;
    for (const [idHash, record] of this.#records) {
      if (now < droppableAt(record, this.#options.maxGrantMs, this.#options.retainMs)) continue;
      this.#records.delete(idHash);
      if (this.#bindings.get(record.binding) === idHash) this.#bindings.delete(record.binding);
      dropped += 1;
    }
    return dropped;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  status(): 'OK' | 'ERROR' {
    return 'OK';
  }

  #byBinding(binding: string): ApprovalRecord | undefined {
    const idHash = this.#bindings.get(binding);
    return idHash === undefined ? undefined : this.#records.get(idHash);
  }
}
