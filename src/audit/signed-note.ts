import { createPrivateKey, createPublicKey, hash, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Signed notes (c2sp.org/signed-note): text signed by one or more named keys, with
 * Ed25519 note signatures and the timestamped Ed25519 checkpoint cosignatures of
 * c2sp.org/tlog-cosignature (`cosignature/v1`).
 */

/** The signature types implemented, by the names of c2sp.org/signed-note §Signature types. */
export type NoteKeyType = 'ed25519' | 'cosignature/v1';

/** A public key under a name, as a verifier key (vkey) encodes it. */
export interface NoteVerifier {
  readonly name: string;
  readonly type: NoteKeyType;
  /** `SHA-256(name ‖ 0x0A ‖ type byte ‖ public key)[:4]`, 4 bytes. */
  readonly keyId: Buffer;
  /** The 32-byte Ed25519 public key (RFC 8032). */
  readonly publicKey: Buffer;
}

/** A private key under a name; its public half is a verifier. */
export interface NoteSigner extends NoteVerifier {
  readonly privateKey: KeyObject;
}

/** A signature line of a note, by who it claims to be from. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: Buffer;
}

/** A signature that verified, with the timestamp a `cosignature/v1` signature carries (POSIX seconds). */
export interface VerifiedSignature {
  readonly verifier: NoteVerifier;
  readonly timestamp?: number;
}

/** An opened note: its text, the signatures that verified and those by keys not trusted. */
export interface OpenedNote {
  readonly text: string;
  readonly verified: readonly VerifiedSignature[];
  readonly unverified: readonly NoteSignature[];
}

/** Why a note or key was refused. */
export type NoteErrorCode = 'note_malformed' | 'note_unverified' | 'signature_invalid' | 'key_malformed';

/** A note or key that does not parse or verify. */
export class NoteError extends Error {
  readonly code: NoteErrorCode;
  constructor(code: NoteErrorCode, message: string) {
    super(message);
    this.name = 'NoteError';
    this.code = code;
  }
}

/**
 * Signature lines a note may carry. The spec requires at least 16 be accepted; a bound
 * keeps a note from costing unbounded verification (only lines of trusted keys verify).
 */
export const MAX_SIGNATURES = 100;

/** The key ID of c2sp.org/signed-note §Signatures: `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`. */
export function keyId(name: string, type: NoteKeyType, publicKey: Uint8Array): Buffer {
  const input = Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([TYPE_BYTE[type]]), publicKey]);
  return hash('sha256', input, 'buffer').subarray(0, 4);
}

/** The signer of an Ed25519 key given by its 32-byte seed (RFC 8032 private key), under `name`. */
export function noteSigner(name: string, seed: Uint8Array, type: NoteKeyType = 'ed25519'): NoteSigner {
  if (!isValidName(name)) throw new TypeError(`key name ${JSON.stringify(name)} is empty or has a space or a +`);
  if (seed.length !== 32) throw new TypeError(`an Ed25519 seed has 32 bytes, not ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
  return { name, type, keyId: keyId(name, type, publicKey), publicKey, privateKey };
}

/** The public half of a signer. */
export function verifierOf(signer: NoteSigner): NoteVerifier {
  const { name, type, keyId, publicKey } = signer;
  return { name, type, keyId, publicKey };
}

/** `<name>+<hex key ID>+<base64(type ‖ public key)>`, c2sp.org/signed-note §Verifier keys. */
export function formatVerifierKey(verifier: NoteVerifier): string {
  const key = Buffer.concat([Buffer.from([TYPE_BYTE[verifier.type]]), verifier.publicKey]);
  return `${verifier.name}+${verifier.keyId.toString('hex')}+${key.toString('base64')}`;
}

/** Parses a verifier key; its key ID must be the one its name, type and key give. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const { name, id, type, material } = parseKey(vkey, 'verifier key');
  return checkKeyId({ name, type, keyId: keyId(name, type, material), publicKey: material }, id);
}

/**
 * `PRIVATE+KEY+<name>+<hex key ID>+<base64(type ‖ seed)>`, the signer key encoding of
 * golang.org/x/mod/sumdb/note (signed-note itself leaves private keys unspecified).
 */
export function formatSignerKey(signer: NoteSigner): string {
  const seed = Buffer.from(signer.privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const key = Buffer.concat([Buffer.from([TYPE_BYTE[signer.type]]), seed]);
  return `${SIGNER_PREFIX}${signer.name}+${signer.keyId.toString('hex')}+${key.toString('base64')}`;
}

/** Parses a signer key; its key ID must be the one of the public key its seed gives. */
export function parseSignerKey(skey: string): NoteSigner {
  if (!skey.startsWith(SIGNER_PREFIX))
    throw new NoteError('key_malformed', `a signer key starts with ${SIGNER_PREFIX}`);
  const { name, id, type, material } = parseKey(skey.slice(SIGNER_PREFIX.length), 'signer key');
  return checkKeyId(noteSigner(name, material, type), id);
}

/**
 * One signature line `— <name> <base64(key ID ‖ signature)>\n` over `text`. An `ed25519`
 * signer signs the text; a `cosignature/v1` signer signs `cosignature/v1\ntime <T>\n` ‖
 * text and prefixes the signature with T, 8 bytes big-endian (c2sp.org/tlog-cosignature).
 */
export function signatureLine(text: string, signer: NoteSigner, timestamp?: number): string {
  checkText(text);
  let signature: Buffer;
  if (signer.type === 'ed25519') {
    signature = sign(null, Buffer.from(text), signer.privateKey);
  } else {
    if (timestamp === undefined || !Number.isSafeInteger(timestamp) || timestamp < 0)
      throw new TypeError(`a cosignature needs a timestamp in POSIX seconds, not ${timestamp}`);
    const time = Buffer.alloc(8);
    time.writeBigUInt64BE(BigInt(timestamp));
    signature = Buffer.concat([time, sign(null, cosignedMessage(text, timestamp), signer.privateKey)]);
  }
  return `— ${signer.name} ${Buffer.concat([signer.keyId, signature]).toString('base64')}\n`;
}

/**
 * The signed note: `text` (ending in a newline), a blank line, one signature line per
 * signer (`timestamp` is for the `cosignature/v1` ones). c2sp.org/signed-note §Format.
 */
export function signNote(text: string, signers: readonly NoteSigner[], timestamp?: number): string {
  if (signers.length === 0) throw new TypeError('a note needs at least one signer');
  return `${text}\n${signers.map((s) => signatureLine(text, s, timestamp)).join('')}`;
}

/**
 * Opens a signed note against trusted keys (c2sp.org/signed-note §Format, §Signatures):
 * the text is returned only when a trusted key's signature verifies. Lines of unknown keys
 * (name or key ID not both matching a trusted key) are ignored; a trusted key's signature
 * that fails to verify, or a second one by the same key, refuses the whole note.
 */
export function openNote(note: string, trusted: readonly NoteVerifier[]): OpenedNote {
  const problem = textProblem(note);
  if (problem) throw new NoteError('note_malformed', `the note ${problem}`);
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('note_malformed', 'the note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === '') throw new NoteError('note_malformed', 'the note has no signature line');
  if (!block.endsWith('\n')) throw new NoteError('note_malformed', 'the signature block does not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES)
    throw new NoteError('note_malformed', `the note has more than ${MAX_SIGNATURES} signatures`);
  const verified: VerifiedSignature[] = [];
  const unverified: NoteSignature[] = [];
  for (const line of lines) {
    const { name, keyId, signature } = parseSignatureLine(line);
    const verifier = trusted.find((v) => v.name === name && v.keyId.equals(keyId));
    if (!verifier) {
      unverified.push({ name, keyId });
      continue;
    }
    const who = `${name}+${keyId.toString('hex')}`;
    if (verified.some((s) => s.verifier === verifier))
      throw new NoteError('note_malformed', `the note has two signatures by ${who}`);
    const signed = verifySignature(text, verifier, signature);
    if (!signed) throw new NoteError('signature_invalid', `the signature by ${who} does not verify`);
    verified.push(signed);
  }
  if (verified.length === 0) throw new NoteError('note_unverified', 'the note has no signature by a trusted key');
  return { text, verified, unverified };
}

/**
 * Decodes standard base64 (RFC 4648 §4, the encoding of c2sp.org/signed-note and
 * tlog-checkpoint) in its one canonical form only: padded, no stray bits or characters.
 */
export function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return text !== '' && bytes.toString('base64') === text ? bytes : undefined;
}

const TYPE_BYTE: Readonly<Record<NoteKeyType, number>> = { ed25519: 0x01, 'cosignature/v1': 0x04 };
const SIGNER_PREFIX = 'PRIVATE+KEY+';
/** The DER of a PKCS #8 Ed25519 private key (RFC 8410 §7) before its 32-byte seed. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SIGNATURE = 64;

/** Key names are non-empty, with no Unicode space and no plus (c2sp.org/signed-note §Format). */
function isValidName(name: string): boolean {
  return name !== '' && !/[\s+]/u.test(name);
}

/** What makes `text` no note text (valid UTF-8, no control character but newline), if anything. */
function textProblem(text: string): string | undefined {
  if (!text.isWellFormed()) return 'is not valid UTF-8 (it has a lone surrogate)';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return `has the control character 0x${c.toString(16).padStart(2, '0')}`;
  }
  return undefined;
}

function checkText(text: string): void {
  const problem = textProblem(text);
  if (problem) throw new TypeError(`a note's text ${problem}`);
  if (!text.endsWith('\n')) throw new TypeError("a note's text ends in a newline");
}

/** Parses `<name>+<hex key ID>+<base64(type ‖ key material)>`. */
function parseKey(encoded: string, what: string): { name: string; id: string; type: NoteKeyType; material: Buffer } {
  const [name = '', id = '', key = ''] = splitOnce(encoded, 2);
  const bytes = decodeBase64(key);
  if (!isValidName(name) || !/^[0-9a-f]{8}$/.test(id) || !bytes || bytes.length !== 33)
    throw new NoteError('key_malformed', `the ${what} is not <name>+<8 hex digits>+<base64 of 33 bytes>`);
  const type = (Object.keys(TYPE_BYTE) as NoteKeyType[]).find((t) => TYPE_BYTE[t] === bytes[0]);
  if (!type) throw new NoteError('key_malformed', `the ${what} has the unsupported signature type ${bytes[0]}`);
  return { name, id, type, material: bytes.subarray(1) };
}

/** The key ID is derived, so a key whose encoded ID differs was altered or mislabelled. */
function checkKeyId<T extends NoteVerifier>(key: T, id: string): T {
  if (key.keyId.toString('hex') !== id)
    throw new NoteError('key_malformed', `the key ID ${id} is not that of ${key.name}'s key`);
  return key;
}

/** Splits on the first `count` plus signs: names and key IDs have none, base64 may. */
function splitOnce(text: string, count: number): string[] {
  const parts: string[] = [];
  let rest = text;
  for (let i = 0; i < count; i++) {
    const at = rest.indexOf('+');
    if (at < 0) break;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  return [...parts, rest];
}

function parseSignatureLine(line: string): { name: string; keyId: Buffer; signature: Buffer } {
  const malformed = new NoteError('note_malformed', `the signature line ${JSON.stringify(line)} is malformed`);
  if (!line.startsWith('— ')) throw malformed;
  const space = line.indexOf(' ', 2);
  const name = line.slice(2, space < 0 ? line.length : space);
  const bytes = space < 0 ? undefined : decodeBase64(line.slice(space + 1));
  if (!isValidName(name) || !bytes || bytes.length < 5) throw malformed;
  return { name, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) };
}

/**
 * Verifies one signature by `verifier`; a cosignature carries its timestamp, a u64 before
 * the Ed25519 signature (c2sp.org/tlog-cosignature §Format).
 */
function verifySignature(text: string, verifier: NoteVerifier, signature: Buffer): VerifiedSignature | undefined {
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: verifier.publicKey.toString('base64url') },
    format: 'jwk',
  });
  if (verifier.type === 'ed25519') {
    const ok = signature.length === ED25519_SIGNATURE && verify(null, Buffer.from(text), publicKey, signature);
    return ok ? { verifier } : undefined;
  }
  if (signature.length !== 8 + ED25519_SIGNATURE) return undefined;
  // The spec bounds the timestamp by 2^63-1 and lets verifiers refuse future ones: past
  // 2^53-1 seconds (millions of years away) it would not be exact as a number.
  const time = signature.readBigUInt64BE(0);
  if (time > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const timestamp = Number(time);
  const ok = verify(null, cosignedMessage(text, timestamp), publicKey, signature.subarray(8));
  return ok ? { verifier, timestamp } : undefined;
}

/** The message of a v1 cosignature, c2sp.org/tlog-cosignature §Ed25519 signed message. */
function cosignedMessage(text: string, timestamp: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${text}`);
}
