import { existsSync, readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { loadOrCreateSigningKey } from '../keys/key-file.ts';
import { formatCheckpoint, parseCheckpoint } from './tlog-checkpoint.ts';
import { formatVerifierKey, type NoteVerifier, noteSigner, openNote, signNote, verifierOf } from './signed-note.ts';

/** The default name of the checkpoint key, and the first part of every chain's origin. */
export const DEFAULT_LOG_NAME = 'mcp-warden';

/** Where a chain's Merkle tree stood: what a checkpoint signs. */
export interface TreeHead {
  readonly chain: string;
  /** Records in the chain (its last `seq`). */
  readonly size: number;
  /** The RFC 6962 tree hash of those records. */
  readonly root: Buffer;
}

/**
 * Signs checkpoints in the C2SP tlog-checkpoint format: a signed note (Ed25519) whose
 * text is the origin `<log name>/<chain>`, the tree size and the base64 root.
 */
export interface CheckpointSigner {
  sign(head: TreeHead): Promise<string>;
  /** The public key, as auditors and witnesses trust it. */
  readonly verifier: NoteVerifier;
}

/** The origin line of a chain's checkpoints: every chain is a log of its own. */
export function originOf(logName: string, chain: string): string {
  return `${logName}/${chain}`;
}

/**
 * Loads the checkpoint key from `file` (an Ed25519 private JWK), generating it on first
 * use with an exclusive create, mode 0600; `name` is its signed-note key name.
 */
export async function loadCheckpointSigner(file: string, name = DEFAULT_LOG_NAME): Promise<CheckpointSigner> {
  await loadOrCreateSigningKey(file, 'audit');
  const signer = noteSignerOfJwk(JSON.parse(readFileSync(file, 'utf8')) as JWK, name);
  return {
    verifier: verifierOf(signer),
    async sign(head) {
      return signNote(formatCheckpoint({ origin: originOf(name, head.chain), size: head.size, root: head.root }), [
        signer,
      ]);
    },
  };
}

/**
 * The verifier key (C2SP vkey) of the checkpoint key in `file`, or null when there is
 * none. Never generates one: a new key would verify nothing the service signed.
 */
export function checkpointVerifierKey(file: string, name = DEFAULT_LOG_NAME): string | null {
  if (!existsSync(file)) return null;
  return formatVerifierKey(verifierOf(noteSignerOfJwk(JSON.parse(readFileSync(file, 'utf8')) as JWK, name)));
}

/** A tree head as a checkpoint signed it, with the trusted key that did. */
export interface SignedTreeHead extends TreeHead {
  readonly key: NoteVerifier;
}

/**
 * Opens a checkpoint with trusted log keys: it must be signed by one of them, and its
 * origin must be that key's name followed by `/<chain>`. Throws when it is not.
 */
export function openChainCheckpoint(note: string, trusted: readonly NoteVerifier[]): SignedTreeHead {
  const { text, verified } = openNote(note, trusted);
  const checkpoint = parseCheckpoint(text);
  const by = verified.find((s) => checkpoint.origin.startsWith(`${s.verifier.name}/`));
  if (by === undefined) {
    throw new Error(`the checkpoint's origin ${checkpoint.origin} is not a chain of the key that signed it`);
  }
  return {
    chain: checkpoint.origin.slice(by.verifier.name.length + 1),
    size: checkpoint.size,
    root: checkpoint.root,
    key: by.verifier,
  };
}

function noteSignerOfJwk(jwk: JWK, name: string) {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string') {
    throw new TypeError('the checkpoint key is not an Ed25519 private JWK');
  }
  return noteSigner(name, Buffer.from(jwk.d, 'base64url'));
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

  due(head: { readonly seq: number }, now: number): boolean {
    return (
      head.seq > this.#lastSeq &&
      (head.seq - this.#lastSeq >= this.#everyRecords || now - this.#lastAt >= this.#everyMs)
    );
  }

  done(head: { readonly seq: number }, now: number): void {
    this.#lastSeq = head.seq;
    this.#lastAt = now;
  }
}
