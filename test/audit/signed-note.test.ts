import { randomBytes, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  formatSignerKey,
  formatVerifierKey,
  keyId,
  MAX_SIGNATURES,
  NoteError,
  noteSigner,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signatureLine,
  signNote,
  verifierOf,
} from '../../src/audit/signed-note.ts';

/** The code of the NoteError `run` throws. */
function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof NoteError) return err.code;
    throw err;
  }
  return 'no error';
}

// c2sp.org/signed-note §Verifier keys, Example.
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE =
  'This is an example message.\n\n' +
  '— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

// golang.org/x/mod/sumdb/note's test key pair and its signature (note_test.go, TestSign and TestOpen).
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_KEY = Buffer.from('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'base64').subarray(1);
const PETER_TEXT =
  'If you think cryptography is the answer to your problem,\n' + "then you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const CHECKPOINT = 'example.com/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n';
const alice = noteSigner('example.com/log', randomBytes(32));
const mallory = noteSigner('example.com/log', randomBytes(32));
const witness = noteSigner('witness.example/w1', randomBytes(32), 'cosignature/v1');

describe('the specs’ vectors', () => {
  it('opens the example note of c2sp.org/signed-note with its verifier key', () => {
    const vkey = parseVerifierKey(SPEC_VKEY);
    expect(vkey).toMatchObject({ name: 'example.com/foo', type: 'ed25519' });
    expect(vkey.keyId.toString('hex')).toBe('530d903a');
    expect(formatVerifierKey(vkey)).toBe(SPEC_VKEY);
    const opened = openNote(SPEC_NOTE, [vkey]);
    expect(opened.text).toBe('This is an example message.\n');
    expect(opened.verified).toEqual([{ verifier: vkey }]);
  });

  it('signs as golang.org/x/mod/sumdb/note does, from its signer key', () => {
    const peter = parseSignerKey(PETER_SKEY);
    expect(formatSignerKey(peter)).toBe(PETER_SKEY);
    expect(formatVerifierKey(verifierOf(peter))).toBe(PETER_VKEY);
    expect(signNote(PETER_TEXT, [peter])).toBe(`${PETER_TEXT}\n${PETER_SIG}`);
  });

  it('ignores the signature of a key it does not trust', () => {
    const opened = openNote(`${PETER_TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [parseVerifierKey(PETER_VKEY)]);
    expect(opened.verified.map((s) => s.verifier.name)).toEqual(['PeterNeumann']);
    expect(opened.unverified.map((s) => [s.name, s.keyId.toString('hex')])).toEqual([['EnochRoot', 'af0cfe78']]);
  });

  it('derives key IDs per c2sp.org/signed-note and tlog-cosignature (type byte 0x01 or 0x04)', () => {
    const peter = parseVerifierKey(PETER_VKEY);
    expect(keyId('PeterNeumann', 'ed25519', peter.publicKey).toString('hex')).toBe('c74f20a3');
    const cosigner = noteSigner('PeterNeumann', Buffer.alloc(32, 7), 'cosignature/v1');
    expect(cosigner.keyId).toEqual(keyId('PeterNeumann', 'cosignature/v1', cosigner.publicKey));
    expect(cosigner.keyId).not.toEqual(keyId('PeterNeumann', 'ed25519', cosigner.publicKey));
    expect(parseVerifierKey(formatVerifierKey(cosigner))).toEqual(verifierOf(cosigner));
  });
});

describe('signNote and openNote', () => {
  it('round-trips a note with several signers, and keys through their encodings', () => {
    const bob = noteSigner('bob.example', randomBytes(32));
    const note = signNote(CHECKPOINT, [alice, bob]);
    const opened = openNote(note, [parseVerifierKey(formatVerifierKey(alice)), verifierOf(bob)]);
    expect(opened.text).toBe(CHECKPOINT);
    expect(opened.verified.map((s) => s.verifier.name)).toEqual(['example.com/log', 'bob.example']);
    const again = parseSignerKey(formatSignerKey(alice));
    expect(again.publicKey).toEqual(alice.publicKey);
    expect(signNote(CHECKPOINT, [again])).toBe(signNote(CHECKPOINT, [alice]));
  });

  it('refuses a note whose text or signature was altered', () => {
    const note = signNote(CHECKPOINT, [alice]);
    expect(codeOf(() => openNote(note.replace('\n8\n', '\n9\n'), [alice]))).toBe('signature_invalid');
    const line = note.slice(CHECKPOINT.length + 1);
    const sig = Buffer.from(line.slice(line.lastIndexOf(' ') + 1, -1), 'base64');
    sig[40]! ^= 1;
    const forged = `${CHECKPOINT}\n— ${alice.name} ${sig.toString('base64')}\n`;
    expect(codeOf(() => openNote(forged, [alice]))).toBe('signature_invalid');
  });

  it('refuses a note with no signature by a trusted key, even one of the same name', () => {
    const note = signNote(CHECKPOINT, [mallory]);
    expect(codeOf(() => openNote(note, [alice]))).toBe('note_unverified');
    expect(openNote(note, [mallory]).verified).toHaveLength(1);
  });

  it('refuses two signatures by one trusted key', () => {
    const note = signNote(CHECKPOINT, [alice, alice]);
    expect(codeOf(() => openNote(note, [alice]))).toBe('note_malformed');
  });

  it.each([
    ['no blank line before the signatures', `${CHECKPOINT}${signatureLine(CHECKPOINT, alice)}`],
    ['a signature block not ending in a newline', signNote(CHECKPOINT, [alice]).slice(0, -1)],
    ['an empty signature block', `${CHECKPOINT}\n`],
    ['a line without the em dash', signNote(CHECKPOINT, [alice]).replace('— ', '- ')],
    ['a name with a plus', signNote(CHECKPOINT, [alice]).replace('— example.com/log', '— example.com+log')],
    ['non-canonical base64', signNote(CHECKPOINT, [alice]).replace(/=\n$/, '\n')],
    ['a signature of fewer than 5 bytes', `${CHECKPOINT}\n— ${alice.name} AAAA\n`],
    ['a control character', signNote(CHECKPOINT, [alice]).replace('example.com/log\n8', 'example.com/log\r\n8')],
    ['a lone surrogate', signNote(CHECKPOINT, [alice]).replace('8', '\ud800')],
    [
      'too many signatures',
      `${CHECKPOINT}\n${`— x AAAAAAA=\n`.repeat(MAX_SIGNATURES)}${signatureLine(CHECKPOINT, alice)}`,
    ],
  ])('refuses a note with %s as malformed', (_what, note) => {
    expect(codeOf(() => openNote(note, [alice]))).toBe('note_malformed');
  });

  it('keeps a text that itself ends in an empty line: the last blank line separates', () => {
    const text = 'a\n\n';
    expect(openNote(signNote(text, [alice]), [alice]).text).toBe(text);
  });

  it('refuses to sign a text not ending in a newline, or with no signer', () => {
    expect(() => signNote('no newline', [alice])).toThrow(TypeError);
    expect(() => signNote('a\tb\n', [alice])).toThrow(TypeError);
    expect(() => signNote(CHECKPOINT, [])).toThrow(TypeError);
  });
});

describe('cosignature/v1', () => {
  const T = 1_679_315_147;

  it('signs cosignature/v1, time and the checkpoint, and carries the timestamp', () => {
    const line = signatureLine(CHECKPOINT, witness, T);
    const bytes = Buffer.from(line.slice(line.lastIndexOf(' ') + 1, -1), 'base64');
    expect(bytes).toHaveLength(4 + 8 + 64);
    expect(bytes.subarray(0, 4)).toEqual(witness.keyId);
    expect(bytes.readBigUInt64BE(4)).toBe(BigInt(T));
    const message = Buffer.from(`cosignature/v1\ntime ${T}\n${CHECKPOINT}`);
    expect(verify(null, message, witness.privateKey, bytes.subarray(12))).toBe(true);
  });

  it('opens a cosigned checkpoint with the cosigner’s timestamp', () => {
    const note = signNote(CHECKPOINT, [alice]) + signatureLine(CHECKPOINT, witness, T);
    const opened = openNote(note, [alice, verifierOf(witness)]);
    expect(opened.verified).toEqual([{ verifier: alice }, { verifier: verifierOf(witness), timestamp: T }]);
    expect(openNote(note, [alice]).unverified.map((s) => s.name)).toEqual([witness.name]);
  });

  it('refuses a cosignature whose timestamp was altered', () => {
    const line = signatureLine(CHECKPOINT, witness, T);
    const bytes = Buffer.from(line.slice(line.lastIndexOf(' ') + 1, -1), 'base64');
    bytes.writeBigUInt64BE(BigInt(T + 1), 4);
    const note = `${CHECKPOINT}\n— ${witness.name} ${bytes.toString('base64')}\n`;
    expect(codeOf(() => openNote(note, [witness]))).toBe('signature_invalid');
  });

  it('needs a timestamp to cosign', () => {
    expect(() => signatureLine(CHECKPOINT, witness)).toThrow(TypeError);
    expect(() => signatureLine(CHECKPOINT, witness, -1)).toThrow(TypeError);
  });
});

describe('keys', () => {
  it.each([
    ['a key ID that is not the key’s', SPEC_VKEY.replace('530d903a', '530d903b')],
    ['an upper-case key ID', 'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['an unsupported type', `PeterNeumann+c74f20a3+${Buffer.from([2, ...PETER_KEY]).toString('base64')}`],
    ['a short key', 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10'],
    ['a name with a space', 'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['missing parts', 'PeterNeumann+c74f20a3'],
  ])('refuses a verifier key with %s', (_what, vkey) => {
    expect(codeOf(() => parseVerifierKey(vkey))).toBe('key_malformed');
  });

  it('refuses a signer key with the wrong prefix or a key ID not of its key', () => {
    expect(codeOf(() => parseSignerKey(PETER_SKEY.slice('PRIVATE+'.length)))).toBe('key_malformed');
    expect(codeOf(() => parseSignerKey(PETER_SKEY.replace('c74f20a3', 'c74f20a4')))).toBe('key_malformed');
  });

  it('refuses to make a signer with an invalid name or seed', () => {
    expect(() => noteSigner('', randomBytes(32))).toThrow(TypeError);
    expect(() => noteSigner('a+b', randomBytes(32))).toThrow(TypeError);
    expect(() => noteSigner('a\u00a0b', randomBytes(32))).toThrow(TypeError);
    expect(() => noteSigner('ab', randomBytes(31))).toThrow(TypeError);
  });
});
