import { AuditUnavailable } from '../errors.ts';
import { ChainSealer, sealEach, type ChainHead, type SealedRecord } from './chain.ts';
import { type ChainLink, chainClosedRecord, chainStartedRecord } from './chain-link.ts';
import { CheckpointSchedule, type CheckpointSigner } from './checkpoint.ts';
import type { AuditRecord } from './record.ts';
import type { WitnessClient } from './witness-client.ts';

/** What a sink does with its storage; the group commit does the rest. */
export interface CommitStorage {
  /**
   * Before a batch is sealed: resync the chain (e.g. with what a database holds after a
   * lost COMMIT reply) and answer records the trail is owed that nobody waits on (e.g. the
   * record of a torn tail cut after a failed write). A throw fails the batch.
   */
  prepare(sealer: ChainSealer, failedBefore: boolean): Promise<readonly AuditRecord[]>;
  /** Writes sealed records durably, in order; resolves once they are accepted. */
  write(sealed: readonly SealedRecord[]): Promise<void>;
  /** Stores one signed checkpoint (a C2SP signed note) of the chain. */
  storeCheckpoint(head: ChainHead, note: string): Promise<void>;
}

export interface GroupCommitOptions {
  readonly chain: string;
  readonly signer: CheckpointSigner;
  readonly checkpointEveryRecords: number;
  readonly checkpointEveryMs: number;
  /** Most records in one write; the rest wait for the next. */
  readonly batchMaxRecords?: number;
  /**
   * After a failed write, also reject what queued meanwhile (it would meet the same
   * storage: better refused now than one timeout later).
   */
  readonly rejectQueuedOnFailure?: boolean;
  /** Where each checkpoint goes to be cosigned. */
  readonly witness?: WitnessClient | undefined;
  /**
   * Fail closed on the witnesses: once a checkpoint was not cosigned by every one, refuse
   * every batch until it is (retried before each). Else a witness only lags.
   */
  readonly requireWitness?: boolean | undefined;
  readonly now: () => number;
}

/** What a sink's options say of its checkpoints and witnesses: the part it hands the group commit. */
export type CommitSchedule = Pick<
  GroupCommitOptions,
  'signer' | 'checkpointEveryRecords' | 'checkpointEveryMs' | 'witness' | 'requireWitness'
>;

/** The schedule part of a sink's options, and nothing else of them. */
export function scheduleOf(options: CommitSchedule): CommitSchedule {
  const { signer, checkpointEveryRecords, checkpointEveryMs, witness, requireWitness } = options;
  return { signer, checkpointEveryRecords, checkpointEveryMs, witness, requireWitness };
}

interface Pending {
  readonly record: AuditRecord;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

const owed = (record: AuditRecord): Pending => ({ record, resolve: () => undefined, reject: () => undefined });

/**
 * The fail-closed write path every sink shares. Records appended in one event-loop turn
 * are sealed into the chain and written together (group commit), batches one after
 * another, so the chain order is the write order. An append resolves only once its
 * record is written; a failed write rejects its batch with `audit_unavailable` and takes
 * its seals back, so the chain has no gap. A record the canonical form refuses is refused
 * alone. A checkpoint is signed when the schedule says and at stop; a failed one is
 * retried after the next batch, the records it covers standing.
 */
export class GroupCommit {
  readonly #storage: CommitStorage;
  readonly #options: GroupCommitOptions;
  readonly #sealer: ChainSealer;
  readonly #schedule: CheckpointSchedule;
  #committed: ChainHead;
  #pending: Pending[] = [];
  /** Records the trail is owed (a cut) that a failed batch did not write: written first. */
  #owed: Pending[] = [];
  #failed = false;
  #closed = false;
  #drain: Promise<void> | undefined;
  /** The last checkpoint some witness did not cosign, and why. */
  #unwitnessed: { readonly note: string; readonly size: number; problem: string } | null = null;

  constructor(storage: CommitStorage, options: GroupCommitOptions) {
    this.#storage = storage;
    this.#options = options;
    this.#sealer = new ChainSealer(options.chain, { keepLeaves: options.witness !== undefined });
    this.#committed = this.#sealer.head;
    this.#schedule = new CheckpointSchedule(options.checkpointEveryRecords, options.checkpointEveryMs, options.now());
  }

  /** The last written record of the chain. */
  get head(): ChainHead {
    return this.#committed;
  }

  /** Whether the last write failed, or (with `requireWitness`) a witness has not cosigned the last checkpoint. */
  get failing(): boolean {
    return this.#failed || (this.#options.requireWitness === true && this.#unwitnessed !== null);
  }

  /** Takes a chain up again (a reused chain id) with its stored records, which count as checkpointed. */
  resume(records: Iterable<SealedRecord>): void {
    for (const record of records) this.#sealer.adopt(record);
    this.#committed = this.#sealer.head;
    this.#schedule.done(this.#committed, this.#options.now());
  }

  append(record: AuditRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new AuditUnavailable('the audit sink is stopped: its chain is closed'));
    return new Promise((resolve, reject) => {
      this.#pending.push({ record, resolve, reject });
      this.#scheduleDrain();
    });
  }

  /**
   * Starts the chain: its `audit.chain_started` record, linked to the writer's previous
   * chain, then `recovered` (what a crash left to record), owed to the trail and written
   * first. Call before any other append. Never throws: when the storage cannot take them
   * now (a full disk), they stay owed and go first with the next batch that is written.
   */
  async open(previous: ChainLink | null, recovered: readonly AuditRecord[] = []): Promise<void> {
    this.#owed.push(owed(chainStartedRecord(this.#options.now(), previous)), ...recovered.map(owed));
    await this.#write([]);
  }

  /**
   * Ends the chain cleanly: what is queued, then its `audit.chain_closed` record, then a
   * checkpoint covering it. Appends after it are refused; a second close does nothing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#drain !== undefined) await this.#drain;
    if (this.#committed.seq > 0) await this.append(chainClosedRecord(this.#options.now())).catch(() => undefined);
    this.#closed = true;
    await this.flush();
  }

  /** Writes what is queued, then a checkpoint of whatever the last one does not cover. */
  async flush(): Promise<void> {
    while (this.#drain !== undefined) await this.#drain;
    if (this.#schedule.due(this.#committed, Number.POSITIVE_INFINITY)) await this.#checkpoint();
  }

  #scheduleDrain(): void {
    if (this.#drain !== undefined) return;
    // setImmediate: every append of the current event-loop turn joins the first batch.
    this.#drain = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#drainPending())
      .finally(() => {
        this.#drain = undefined;
        if (this.#pending.length > 0) this.#scheduleDrain();
      });
  }

  async #drainPending(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#options.batchMaxRecords ?? Number.POSITIVE_INFINITY);
      if (await this.#write(batch)) {
        // Decided at commit time, before the appenders' code runs on (and moves the clock).
        const due = this.#schedule.due(this.#committed, this.#options.now());
        for (const p of batch) p.resolve();
        if (due) await this.#checkpoint();
      } else if (this.#options.rejectQueuedOnFailure) {
        for (const p of this.#pending.splice(0)) p.reject(new AuditUnavailable('the audit storage is unavailable'));
      }
    }
  }

  /** Seals and writes one batch; true when it was written, else its appends are rejected. */
  async #write(pending: readonly Pending[]): Promise<boolean> {
    let before = this.#sealer.mark();
    if (this.#options.requireWitness && this.#unwitnessed !== null && !(await this.#witnessAgain())) {
      const failure = new AuditUnavailable(
        `no witness cosignature for checkpoint ${this.#unwitnessed.size}: ${this.#unwitnessed.problem}`,
      );
      for (const p of pending) p.reject(failure);
      return false;
    }
    try {
      const recovered = await this.#storage.prepare(this.#sealer, this.#failed);
      this.#owed.push(...recovered.map(owed));
      before = this.#sealer.mark();
      const unsealable = (p: Pending) =>
        p.reject(new AuditUnavailable('the record has no canonical form (a lone surrogate or a non-finite number)'));
      const { sealed } = sealEach(this.#sealer, [...this.#owed, ...pending], unsealable);
      if (sealed.length > 0) await this.#storage.write(sealed);
    } catch (err) {
      this.#sealer.rewind(before);
      this.#failed = true;
      const failure = new AuditUnavailable(`the audit storage refused the records: ${(err as Error).message}`, {
        cause: err,
      });
      for (const p of pending) p.reject(failure);
      return false;
    }
    this.#owed = [];
    this.#options.witness?.written(this.#sealer.takeLeaves());
    this.#committed = this.#sealer.head;
    this.#failed = false;
    return true;
  }

  async #checkpoint(): Promise<void> {
    // Only between batches: the sealer stands where the last write left it.
    const head = this.#committed;
    const now = this.#options.now();
    try {
      const note = await this.#options.signer.sign({ chain: head.chain, size: head.seq, root: this.#sealer.root() });
      await this.#storage.storeCheckpoint(head, note);
      this.#schedule.done(head, now);
      await this.#witness(note, head.seq);
    } catch {
      // only the checkpoint is late: retried after the next batch
    }
  }

  /** Sends a stored checkpoint to the witnesses; remembers it when one did not cosign. */
  async #witness(note: string, size: number): Promise<void> {
    const witness = this.#options.witness;
    if (witness === undefined) return;
    const behind = await witness.submit(note, size);
    this.#unwitnessed =
      behind.length === 0 ? null : { note, size, problem: behind.map((w) => `${w.url}: ${w.problem}`).join('; ') };
  }

  /** Sends the last unwitnessed checkpoint again; true once every witness cosigned it. */
  async #witnessAgain(): Promise<boolean> {
    const last = this.#unwitnessed;
    if (last === null) return true;
    await this.#witness(last.note, last.size);
    return this.#unwitnessed === null;
  }
}
