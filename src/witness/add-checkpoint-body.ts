import { HASH_SIZE } from '../audit/merkle.ts';
import { decodeBase64 } from '../audit/signed-note.ts';

/** A parsed add-checkpoint request body (c2sp.org/tlog-witness §add-checkpoint). */
export interface AddCheckpointBody {
  /** The size of the checkpoint the client believes the witness holds. */
  readonly oldSize: number;
  /** The consistency proof from `oldSize` to the checkpoint's size, RFC 6962 §2.1.2. */
  readonly proof: readonly Buffer[];
  /** The signed checkpoint note, as sent. */
  readonly note: string;
}

/** "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63;

/** A body that is not `old <size>\n`, proof lines, an empty line and a note: answered 400. */
export class BodyMalformed extends Error {
  readonly code = 'body_malformed';
  constructor(message: string) {
    super(message);
    this.name = 'BodyMalformed';
  }
}

const OLD_SIZE = /^old (0|[1-9][0-9]*)$/;

/**
 * Parses the body strictly: an old size line (`old`, one space, a decimal without leading
 * zeros), at most 63 lines of one base64 hash each, an empty line, then the note; every
 * line ends in U+000A. Throws `BodyMalformed`.
 */
export function parseAddCheckpointBody(body: Uint8Array | string): AddCheckpointBody {
  const text = typeof body === 'string' ? body : decodeUtf8(body);
  let at = text.indexOf('\n');
  if (at < 0) throw new BodyMalformed('the body has no old size line ending in a newline');
  const old = OLD_SIZE.exec(text.slice(0, at));
  if (!old) throw new BodyMalformed('the first line is not "old <tree size in decimal, no leading zeros>"');
  const oldSize = Number(old[1]);
  if (!Number.isSafeInteger(oldSize))
    throw new BodyMalformed(`the old size ${old[1]} is above 2^53-1, the largest handled`);
  const proof: Buffer[] = [];
  for (;;) {
    const start = at + 1;
    at = text.indexOf('\n', start);
    if (at < 0) throw new BodyMalformed('the body has no empty line between the proof and the checkpoint');
    const line = text.slice(start, at);
    if (line === '') break;
    if (proof.length === MAX_PROOF_LINES)
      throw new BodyMalformed(`the consistency proof has more than ${MAX_PROOF_LINES} lines`);
    const hash = decodeBase64(line);
    if (hash?.length !== HASH_SIZE)
      throw new BodyMalformed(`proof line ${proof.length + 1} is not the base64 of a ${HASH_SIZE}-byte hash`);
    proof.push(hash);
  }
  const note = text.slice(at + 1);
  if (note === '') throw new BodyMalformed('the body has no checkpoint after the empty line');
  return { oldSize, proof, note };
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new BodyMalformed('the body is not valid UTF-8');
  }
}
