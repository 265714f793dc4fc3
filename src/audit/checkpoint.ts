import { CompactSign, compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { loadOrCreateSigningKey } from '../keys/key-file.ts';
import type { ChainHead } from './chain.ts';

/** A signed statement that a chain had reached `seq` with `hash` at `ts`. */
export interface Checkpoint extends ChainHead {
  readonly ts: string;
}

/** Signs checkpoints with an Ed25519 key kept in one file (mode 0600). */
export interface CheckpointSigner {
  sign(head: ChainHead, now: number): Promise<string>;
  /** The public key set `audit verify` needs. */
  readonly publicJwks: JSONWebKeySet;
}

/** Loads the checkpoint key from `file`, generating it on first use. */
export async function loadCheckpointSigner(file: string): Promise<CheckpointSigner> {
  const { kid, key, publicJwk } = await loadOrCreateSigningKey(file, 'audit');
  const encoder = new TextEncoder();
  return {
    publicJwks: { keys: [publicJwk] },
    sign(head, now) {
      const payload: Checkpoint = {
        chain: head.chain,
        seq: head.seq,
        hash: head.hash,
        ts: new Date(now).toISOString(),
      };
      return new CompactSign(encoder.encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'mcp-warden-checkpoint+jws' })
        .sign(key);
    },
  };
}

/** Verifies a checkpoint's signature against trusted keys; rejects when it does not verify. */
export async function verifyCheckpoint(jws: string, keys: JSONWebKeySet): Promise<Checkpoint> {
  const { payload } = await compactVerify(jws, createLocalJWKSet(keys), { algorithms: ['EdDSA', 'Ed25519'] });
  return JSON.parse(new TextDecoder().decode(payload)) as Checkpoint;
}

/** Decides when the next checkpoint is due: every `everyRecords` records or `everyMs`. */
export class CheckpointSchedule {
  readonly #everyRecords: number;
  readonly #everyMs: number;
  #lastSeq = 0;
  #lastAt: number;

  constructor(everyRecords: number, everyMs: number, now: number) {
    this.#everyRecords = everyRecords;
    this.#everyMs = everyMs;
    this.#lastAt = now;
  }

  due(head: ChainHead, now: number): boolean {
    return (
      head.seq > this.#lastSeq &&
      (head.seq - this.#lastSeq >= this.#everyRecords || now - this.#lastAt >= this.#everyMs)
    );
  }

  done(head: ChainHead, now: number): void {
    this.#lastSeq = head.seq;
    this.#lastAt = now;
  }
}
