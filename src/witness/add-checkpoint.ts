import { EMPTY_ROOT, HASH_SIZE, ProofError, verifyConsistency } from '../audit/merkle.ts';
import {
  decodeBase64,
  NoteError,
  type NoteSigner,
  type NoteVerifier,
  openNote,
  signatureLine,
} from '../audit/signed-note.ts';
import { CheckpointError, parseCheckpoint } from '../audit/tlog-checkpoint.ts';
import { BodyMalformed, parseAddCheckpointBody } from './add-checkpoint-body.ts';
import { logKeysFor } from './log-keys.ts';
import type { WitnessStore } from './store.ts';

/** What the add-checkpoint handler works with. */
export interface AddCheckpointContext {
  readonly store: WitnessStore;
  /** The trusted Ed25519 log keys; each vouches for the origins `<its name>/…` (src/witness/log-keys.ts). */
  readonly logKeys: readonly NoteVerifier[];
  /** The witness's own `cosignature/v1` key. */
  readonly signer: NoteSigner;
  /** The time, in POSIX seconds, the cosignature carries. */
  readonly now: () => number;
}

/** Why add-checkpoint answered as it did; stable, for logs and tests. */
export type AddCheckpointCode =
  | 'cosigned'
  | 'body_malformed'
  | 'checkpoint_malformed'
  | 'log_unknown'
  | 'signature_invalid'
  | 'old_size_above_size'
  | 'old_size_mismatch'
  | 'empty_tree_root_mismatch'
  | 'proof_invalid'
  | 'root_mismatch'
  | 'store_unavailable';

/** An HTTP answer: status, content type and body, with the reason and (when known) the origin. */
export interface WitnessAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly code: AddCheckpointCode;
  readonly origin?: string;
}

const TEXT = 'text/plain; charset=utf-8';

/** The content type of a 409's body, the witness's current tree size (c2sp.org/tlog-witness). */
export const TLOG_SIZE_TYPE = 'text/x.tlog.size';

/**
 * `POST /add-checkpoint` of c2sp.org/tlog-witness, as a function of the body: verifies the
 * checkpoint's log signature (404 unknown origin, 403 no valid trusted signature), the old
 * size (400 above the checkpoint's size, 409 with the held size when it is not the size
 * held), the empty tree's root and the consistency proof from the held checkpoint (422),
 * then cosigns (cosignature/v1), stores with a compare-and-set on the old size, and
 * answers 200 with the cosignature line. Anything else is refused: nothing is cosigned
 * that was not checked, and a store that fails answers 503. Throws only on misuse (a
 * clock that does not give POSIX seconds).
 */
export async function addCheckpoint(body: Uint8Array | string, ctx: AddCheckpointContext): Promise<WitnessAnswer> {
  let request: ReturnType<typeof parseAddCheckpointBody>;
  try {
    request = parseAddCheckpointBody(body);
  } catch (err) {
    if (err instanceof BodyMalformed) return refuse(400, 'body_malformed', err.message);
    throw err;
  }
  const { oldSize, proof, note } = request;
  const firstLine = note.indexOf('\n');
  const origin = firstLine < 0 ? '' : note.slice(0, firstLine);
  if (origin === '') return refuse(400, 'checkpoint_malformed', 'the checkpoint has no origin line');
  const keys = logKeysFor(origin, ctx.logKeys);
  if (keys.length === 0) return refuse(404, 'log_unknown', `no trusted log key for the origin ${origin}`);

  let opened: ReturnType<typeof openNote>;
  try {
    opened = openNote(note, keys);
  } catch (err) {
    if (!(err instanceof NoteError)) throw err;
    // Malformed notes are 400, but a trusted key's signature that fails is 403 (the spec says so).
    if (err.code === 'note_malformed') return refuse(400, 'checkpoint_malformed', err.message);
    return refuse(403, 'signature_invalid', err.message);
  }
  if (emptyTreeWithRoot(opened.text))
    return refuse(422, 'empty_tree_root_mismatch', 'a checkpoint of size 0 has the empty root', origin);
  let size: number;
  let root: Buffer;
  try {
    ({ size, root } = parseCheckpoint(opened.text));
  } catch (err) {
    if (err instanceof CheckpointError) return refuse(400, 'checkpoint_malformed', err.message);
    throw err;
  }
  if (oldSize > size)
    return refuse(400, 'old_size_above_size', `the old size ${oldSize} is larger than the checkpoint's ${size}`);

  let held: Awaited<ReturnType<WitnessStore['get']>>;
  try {
    held = await ctx.store.get(origin);
  } catch (err) {
    return unavailable(err);
  }
  const heldSize = held?.size ?? 0;
  if (oldSize !== heldSize) return conflict(heldSize, origin);
  try {
    verifyConsistency(oldSize, size, held ? Buffer.from(held.root, 'base64') : EMPTY_ROOT, root, proof);
  } catch (err) {
    if (!(err instanceof ProofError)) throw err;
    if (oldSize === size && proof.length === 0)
      return refuse(422, 'root_mismatch', `the checkpoint of size ${size} has another root than the one held`, origin);
    return refuse(
      422,
      'proof_invalid',
      `the consistency proof from ${oldSize} does not verify: ${err.message}`,
      origin,
    );
  }

  const timestamp = ctx.now();
  if (!Number.isSafeInteger(timestamp) || timestamp < 1)
    throw new TypeError(`the witness clock gave ${timestamp}, not POSIX seconds`);
  const cosignature = signatureLine(opened.text, ctx.signer, timestamp);
  const logVerifiers = opened.verified.map((s) => s.verifier);
  const logLines = signatureLinesOf(note, logVerifiers);
  const entry = {
    origin,
    size,
    root: root.toString('base64'),
    checkpoint: `${opened.text}\n${logLines}${cosignature}`,
    updatedAt: new Date(timestamp * 1000).toISOString(),
  };
  try {
    // Lost the race to another request (or witness process) since the read: it moved the log.
    if (!(await ctx.store.compareAndSet(oldSize, entry)))
      return conflict((await ctx.store.get(origin))?.size ?? 0, origin);
  } catch (err) {
    return unavailable(err);
  }
  return { status: 200, contentType: TEXT, body: cosignature, code: 'cosigned', origin };
}

function refuse(status: number, code: AddCheckpointCode, message: string, origin?: string): WitnessAnswer {
  return { status, contentType: TEXT, body: `${code}: ${message}\n`, code, ...(origin ? { origin } : {}) };
}

function unavailable(err: unknown): WitnessAnswer {
  return refuse(503, 'store_unavailable', `the witness state cannot be read or written: ${(err as Error).message}`);
}

function conflict(heldSize: number, origin: string): WitnessAnswer {
  return { status: 409, contentType: TLOG_SIZE_TYPE, body: `${heldSize}\n`, code: 'old_size_mismatch', origin };
}

/** A size-0 checkpoint whose root line is a hash, but not the empty tree's: 422, not a malformed 400. */
function emptyTreeWithRoot(text: string): boolean {
  const [, size, rootLine = ''] = text.split('\n');
  const root = decodeBase64(rootLine);
  return size === '0' && root?.length === HASH_SIZE && !root.equals(EMPTY_ROOT);
}

/** The note's signature lines by `verifiers` (the log's), as sent: the stored checkpoint keeps them. */
function signatureLinesOf(note: string, verifiers: readonly NoteVerifier[]): string {
  const block = note.slice(note.lastIndexOf('\n\n') + 2, -1);
  return block
    .split('\n')
    .filter((line) =>
      verifiers.some((v) => {
        if (!line.startsWith(`— ${v.name} `)) return false;
        return (
          decodeBase64(line.slice(v.name.length + 3))
            ?.subarray(0, 4)
            .equals(v.keyId) === true
        );
      }),
    )
    .map((line) => `${line}\n`)
    .join('');
}
