import { consistencyProofFromEdge, MerkleTree, type MerkleTreeState } from './merkle.ts';
import { type NoteVerifier, openNote, parseVerifierKey } from './signed-note.ts';

/** A witness the service sends its checkpoints to (`audit.witnesses[]`). */
export interface WitnessConfig {
  /** Its base URL: checkpoints go to `<url>/add-checkpoint`. */
  readonly url: string;
  /** Its cosignature/v1 verifier key: a 200 without a valid cosignature by it is a refusal. */
  readonly vkey: string;
}

/** How one witness stands for the current chain. */
export interface WitnessStatus {
  readonly url: string;
  /** The size of the last checkpoint it cosigned. */
  readonly size: number;
  /** Why the last submission failed, or null when it was cosigned. */
  readonly problem: string | null;
}

interface Witness {
  readonly url: string;
  readonly key: NoteVerifier;
  /** The tree's right edge at `size`, the last size it cosigned, and the leaves written since. */
  edge: MerkleTreeState;
  leaves: Buffer[];
  problem: string | null;
}

/**
 * Sends every checkpoint of one chain to the configured witnesses (C2SP tlog-witness
 * add-checkpoint), each with a consistency proof from the last checkpoint it cosigned.
 * It keeps, per witness, the tree's right edge at that size and the leaf hashes written
 * since: bounded by `maxLagRecords`; a witness further behind cannot be caught up within
 * this chain (it is `problem`, and the next chain starts afresh).
 */
export class WitnessClient {
  readonly #witnesses: Witness[];
  readonly #timeoutMs: number;
  readonly #maxLag: number;

  constructor(configs: readonly WitnessConfig[], options: { timeoutMs: number; maxLagRecords: number }) {
    this.#witnesses = configs.map((c) => ({
      url: c.url.replace(/\/+$/, ''),
      key: witnessKey(c.vkey),
      edge: { size: 0, edge: [] },
      leaves: [],
      problem: null,
    }));
    this.#timeoutMs = options.timeoutMs;
    this.#maxLag = options.maxLagRecords;
  }

  /** The leaves of the records the sink wrote, in chain order: what the next proofs need. */
  written(leaves: readonly Buffer[]): void {
    if (this.#witnesses.length === 0) return;
    for (const w of this.#witnesses) {
      if (w.leaves.length + leaves.length > this.#maxLag) {
        w.problem = `more than ${this.#maxLag} records behind: it cannot be caught up within this chain`;
        w.leaves = [];
        w.edge = { size: -1, edge: [] };
        continue;
      }
      if (w.edge.size >= 0) w.leaves.push(...leaves);
    }
  }

  /**
   * Submits the checkpoint `note` of size `size` to every witness; resolves with the
   * witnesses that did not cosign it (none: all did). Never throws.
   */
  async submit(note: string, size: number): Promise<WitnessStatus[]> {
    await Promise.all(this.#witnesses.map((w) => this.#submitTo(w, note, size)));
    return this.status().filter((s) => s.problem !== null);
  }

  status(): WitnessStatus[] {
    return this.#witnesses.map((w) => ({ url: w.url, size: Math.max(0, w.edge.size), problem: w.problem }));
  }

  async #submitTo(w: Witness, note: string, size: number): Promise<void> {
    if (w.edge.size < 0) return; // fell too far behind in this chain
    if (w.edge.size === size) {
      w.problem = null;
      return;
    }
    const proof = consistencyProofFromEdge(w.edge, w.leaves.slice(0, size - w.edge.size), size);
    const body = `old ${w.edge.size}\n${proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${note}`;
    let answer: { status: number; text: string };
    try {
      const response = await fetch(`${w.url}/add-checkpoint`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      answer = { status: response.status, text: await response.text() };
    } catch (err) {
      w.problem = `unreachable: ${(err as Error).message}`;
      return;
    }
    if (answer.status !== 200) {
      w.problem = `refused the checkpoint of size ${size}: ${answer.status} ${answer.text.trim().slice(0, 200)}`;
      return;
    }
    // Its cosignature must be there and be its own: a 200 from anything else proves nothing.
    try {
      const cosigned = openNote(`${note}${answer.text}`, [w.key]);
      if (!cosigned.verified.some((s) => s.verifier === w.key)) throw new Error('no cosignature by its key');
    } catch (err) {
      w.problem = `answered 200 without a valid cosignature: ${(err as Error).message}`;
      return;
    }
    const tree = new MerkleTree(w.edge);
    for (const leaf of w.leaves.slice(0, size - w.edge.size)) tree.append(leaf);
    w.leaves = w.leaves.slice(size - w.edge.size);
    w.edge = tree.snapshot();
    w.problem = null;
  }
}

function witnessKey(vkey: string): NoteVerifier {
  const key = parseVerifierKey(vkey);
  if (key.type !== 'cosignature/v1') throw new TypeError(`the witness key ${key.name} is not a cosignature/v1 key`);
  return key;
}
