import { EMPTY_ROOT, HASH_SIZE } from './merkle.ts';
import { decodeBase64, type NoteVerifier, openNote, type VerifiedSignature } from './signed-note.ts';

/** A log's tree head, the note text of c2sp.org/tlog-checkpoint §Note text. */
export interface Checkpoint {
  /** Who issued it: unique per log, non-empty. */
  readonly origin: string;
  /** Leaves in the tree. */
  readonly size: number;
  /** The RFC 6962 tree hash at `size`, 32 bytes. */
  readonly root: Buffer;
  /** Opaque non-empty lines after the root (not recommended by the spec). */
  readonly extensions?: readonly string[];
}

/** Why a checkpoint was refused. */
export type CheckpointErrorCode = 'checkpoint_malformed' | 'origin_mismatch' | 'log_signature_missing';

/** A checkpoint that does not parse, is from another log or lacks its log's signature. */
export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  constructor(code: CheckpointErrorCode, message: string) {
    super(message);
    this.name = 'CheckpointError';
    this.code = code;
  }
}

/** The note text of `checkpoint`: origin, decimal size, base64 root, extensions, each line ending in `\n`. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, root, extensions = [] } = checkpoint;
  if (origin === '' || origin.includes('\n')) throw new TypeError('the origin is empty or has a newline');
  if (!Number.isSafeInteger(size) || size < 0) throw new TypeError(`tree size ${size} is invalid`);
  if (root.length !== HASH_SIZE) throw new TypeError(`a root hash has ${HASH_SIZE} bytes, not ${root.length}`);
  if (size === 0 && !root.equals(EMPTY_ROOT)) throw new TypeError('a tree of size 0 has the empty root');
  if (extensions.some((line) => line === '' || line.includes('\n')))
    throw new TypeError('an extension line is empty or has a newline');
  return [origin, String(size), root.toString('base64'), ...extensions].map((line) => `${line}\n`).join('');
}

/**
 * Parses a checkpoint's note text, strictly (c2sp.org/tlog-checkpoint §Note text): at
 * least three non-empty lines each ending in a newline; a tree size in decimal with no
 * leading zero, at most 2^63-1 (and here at most 2^53-1, beyond which a number is not
 * exact); a root of 32 bytes in base64, the empty tree's for size 0.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw malformed('the checkpoint does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('a checkpoint has at least three lines: origin, tree size and root hash');
  const [origin = '', sizeLine = '', rootLine = '', ...extensions] = lines;
  if (origin === '') throw malformed('the origin line is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine))
    throw malformed(`the tree size ${JSON.stringify(sizeLine)} is not a decimal number without leading zeros`);
  if (BigInt(sizeLine) > MAX_TREE_SIZE) throw malformed(`the tree size ${sizeLine} is above 2^63-1`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw malformed(`the tree size ${sizeLine} is above 2^53-1, the largest handled`);
  const root = decodeBase64(rootLine);
  if (!root || root.length !== HASH_SIZE)
    throw malformed(`the root hash ${JSON.stringify(rootLine)} is not the base64 of ${HASH_SIZE} bytes`);
  if (size === 0 && !root.equals(EMPTY_ROOT)) throw malformed('a tree of size 0 has the empty root, SHA-256 of ""');
  if (extensions.includes('')) throw malformed('the checkpoint has an empty line');
  return { origin, size, root, extensions };
}

/**
 * Opens a signed checkpoint: the note must carry a verified signature by the log's key
 * (cosignatures alone do not vouch for a checkpoint) and the expected origin. Returns the
 * checkpoint and the cosignatures of `cosigners` that verified; signatures of other keys
 * are ignored (c2sp.org/tlog-checkpoint §Signatures). Throws `NoteError` or `CheckpointError`.
 */
export function openCheckpoint(
  note: string,
  origin: string,
  log: NoteVerifier,
  cosigners: readonly NoteVerifier[] = [],
): { checkpoint: Checkpoint; cosignatures: readonly VerifiedSignature[] } {
  const { text, verified } = openNote(note, [log, ...cosigners]);
  if (!verified.some((s) => s.verifier === log))
    throw new CheckpointError('log_signature_missing', `the checkpoint has no signature by the log key ${log.name}`);
  const checkpoint = parseCheckpoint(text);
  if (checkpoint.origin !== origin)
    throw new CheckpointError('origin_mismatch', `the checkpoint is from ${checkpoint.origin}, not ${origin}`);
  return { checkpoint, cosignatures: verified.filter((s) => s.verifier !== log) };
}

const MAX_TREE_SIZE = 2n ** 63n - 1n;

function malformed(message: string): CheckpointError {
  return new CheckpointError('checkpoint_malformed', message);
}
