import { prototypeKeyProblem } from '../decision/arguments.ts';
import { AmbiguousMessage } from '../errors.ts';

/** Deepest nesting accepted; MCP messages are far shallower. */
const MAX_DEPTH = 64;

// Controls, soft hyphen, zero-width and other format characters some parsers drop.
// Matching control and combining-range characters is the point, so the class is built
// from text rather than written as a literal the linter refuses.
const INVISIBLE = new RegExp(
  [
    '[\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f',
    '\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0]',
  ].join(''),
  'gu',
);

/** Object keys an MCP or JSON-RPC reader acts on: a key that folds onto one of them is ambiguous. */
const PROTOCOL_FIELDS: ReadonlyMap<string, string> = new Map(
  ['jsonrpc', 'id', 'method', 'params', 'name', 'uri', 'arguments', 'taskId', '_meta', 'result', 'error'].map((f) => [
    fold(f),
    f,
  ]),
);

/** A body that is not JSON (or nests too deep): answered as a parse error, never forwarded. */
export class InvalidJson extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidJson';
  }
}

/**
 * What a key may be read as by a lenient parser: case-insensitive (Unicode case folding),
 * NFKC-normalized (fullwidth letters), with invisible characters dropped.
 */
function fold(key: string): string {
  return key.normalize('NFKC').replace(INVISIBLE, '').toUpperCase().toLowerCase().normalize('NFKC');
}

interface Frame {
  readonly object: boolean;
  /** Next string in this object is a key. */
  expectKey: boolean;
  readonly keys: Map<string, string>;
  readonly path: string;
  /** The key this object is the value of (null at the root and in arrays). */
  readonly heldBy: string | null;
  /**
   * A message object or its `params`: where a reader looks for protocol fields. Deeper
   * objects (tool arguments, elicitation content, results) are the caller's own data,
   * whose keys may look like protocol fields; duplicates are refused everywhere.
   */
  readonly protocol: 'message' | 'params' | null;
}

/**
 * Parses JSON as `JSON.parse` does, and refuses (with `ambiguous_message`) a text that
 * parsers could read two ways: a duplicate key in any object (after unescaping), two keys
 * of one object that fold onto each other, or a key that folds onto a protocol field
 * without being it (in a message object or its `params`, where readers look for them), or
 * a key JavaScript reads as a prototype (`__proto__`, `constructor.prototype`) anywhere.
 * Throws {@link InvalidJson} for anything that is not JSON.
 *
 * JSON.parse validates the syntax; one linear scan of the text then sees every key (no
 * library offers duplicate detection with Unicode folding; `jsonc-parser`'s visitor
 * would give the keys but not save the scan).
 */
export function parseStrictJson(input: Buffer | string): unknown {
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw new InvalidJson('the body is not UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidJson('the body is not JSON');
  }
  checkKeys(text);
  return value;
}

function checkKeys(text: string): void {
  const stack: Frame[] = [];
  const top = (): Frame | undefined => stack[stack.length - 1];
  let pendingKey: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = closingQuote(text, i);
      const frame = top();
      if (frame?.object === true && frame.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        admitKey(frame, key);
        frame.expectKey = false;
        pendingKey = key;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= MAX_DEPTH) throw new InvalidJson(`the body nests deeper than ${MAX_DEPTH} levels`);
      const parent = top();
      const path = parent === undefined ? '' : join(parent.path, parent.object ? (pendingKey ?? '') : '[]');
      const atMessage = parent === undefined || (!parent.object && stack.length === 1);
      const protocol =
        c !== 0x7b
          ? null
          : atMessage
            ? 'message'
            : parent?.protocol === 'message' && pendingKey === 'params'
              ? 'params'
              : null;
      const heldBy = parent?.object === true ? pendingKey : null;
      stack.push({ object: c === 0x7b, expectKey: c === 0x7b, keys: new Map(), path, protocol, heldBy });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const frame = top();
      if (frame?.object === true) frame.expectKey = true;
    }
  }
}

function admitKey(frame: Frame, key: string): void {
  const where = frame.path === '' ? '' : `${frame.path}: `;
  // Anywhere in the body, as the decision API's parser refuses them: an upstream in
  // JavaScript that merges the message would read the key as a prototype.
  const poisoning = prototypeKeyProblem(key, frame.heldBy);
  if (poisoning !== null) throw new AmbiguousMessage(`${where}${poisoning}`);
  const folded = fold(key);
  const other = frame.keys.get(folded);
  if (other !== undefined) {
    throw new AmbiguousMessage(
      other === key
        ? `${where}duplicate key '${printable(key)}'`
        : `${where}keys '${printable(other)}' and '${printable(key)}' fold onto each other`,
    );
  }
  const field = frame.protocol === null ? undefined : PROTOCOL_FIELDS.get(folded);
  if (field !== undefined && field !== key)
    throw new AmbiguousMessage(`${where}key '${printable(key)}' folds onto the protocol field '${field}'`);
  frame.keys.set(folded, key);
}

/** The index of the quote closing the string that opens at `start` (valid JSON assumed). */
function closingQuote(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const next = text.indexOf('"', i);
    let backslashes = 0;
    for (let j = next - 1; text.charCodeAt(j) === 0x5c; j--) backslashes++;
    if (backslashes % 2 === 0) return next;
    i = next + 1;
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : key === '[]' ? `${path}[]` : `${path}.${key}`;
}

function printable(key: string): string {
  return JSON.stringify(key).slice(1, -1);
}
