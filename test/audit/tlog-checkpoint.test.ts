import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT } from '../../src/audit/merkle.ts';
import { NoteError, noteSigner, parseVerifierKey, signatureLine, signNote } from '../../src/audit/signed-note.ts';
import { CheckpointError, formatCheckpoint, openCheckpoint, parseCheckpoint } from '../../src/audit/tlog-checkpoint.ts';

/** The code of the coded error `run` throws. */
function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof CheckpointError || err instanceof NoteError) return err.code;
    throw err;
  }
  return 'no error';
}

// c2sp.org/tlog-checkpoint, the example's note text.
const SPEC_BODY = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';

// A checkpoint of the Go checksum database and its key, as in transparency-dev/formats (log/note_test.go).
const SUMDB_VKEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
const SUMDB_CHECKPOINT =
  'go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n' +
  '— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n';

const ROOT = Buffer.from('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'base64');
const log = noteSigner('example.com/log', randomBytes(32));
const witness = noteSigner('witness.example/w1', randomBytes(32), 'cosignature/v1');

describe('formatCheckpoint and parseCheckpoint', () => {
  it('parses the example of c2sp.org/tlog-checkpoint and formats it back', () => {
    const checkpoint = parseCheckpoint(SPEC_BODY);
    expect(checkpoint).toEqual({ origin: 'example.com/behind-the-sofa', size: 20852163, root: ROOT, extensions: [] });
    expect(formatCheckpoint(checkpoint)).toBe(SPEC_BODY);
  });

  it('round-trips extension lines and the empty tree', () => {
    const withExtensions = { origin: 'o', size: 1, root: ROOT, extensions: ['ext one', 'ext two'] };
    expect(parseCheckpoint(formatCheckpoint(withExtensions))).toEqual(withExtensions);
    const empty = formatCheckpoint({ origin: 'o', size: 0, root: EMPTY_ROOT });
    expect(empty).toBe(`o\n0\n${EMPTY_ROOT.toString('base64')}\n`);
    expect(parseCheckpoint(empty).size).toBe(0);
  });

  it.each([
    ['no final newline', SPEC_BODY.slice(0, -1)],
    ['two lines', 'example.com/log\n1\n'],
    ['an empty origin', `\n1\n${ROOT.toString('base64')}\n`],
    ['a leading zero', `o\n01\n${ROOT.toString('base64')}\n`],
    ['a sign', `o\n+1\n${ROOT.toString('base64')}\n`],
    ['an exponent', `o\n1e3\n${ROOT.toString('base64')}\n`],
    ['a space', `o\n 1\n${ROOT.toString('base64')}\n`],
    ['a size of 2^63', `o\n9223372036854775808\n${ROOT.toString('base64')}\n`],
    ['a size above 2^53-1', `o\n9007199254740992\n${ROOT.toString('base64')}\n`],
    ['a root of 31 bytes', `o\n1\n${ROOT.subarray(1).toString('base64')}\n`],
    ['a root in base64url', 'o\n1\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n'],
    ['an unpadded root', 'o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n'],
    ['size 0 with another root than the empty tree’s', `o\n0\n${ROOT.toString('base64')}\n`],
    ['an empty extension line', `${SPEC_BODY}\nlast\n`],
    ['a blank last line', `${SPEC_BODY}\n`],
  ])('refuses a checkpoint with %s', (_what, text) => {
    expect(codeOf(() => parseCheckpoint(text))).toBe('checkpoint_malformed');
  });

  it('refuses to format what would not parse', () => {
    expect(() => formatCheckpoint({ origin: '', size: 1, root: ROOT })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, root: ROOT })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: 'o', size: -1, root: ROOT })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: 'o', size: 1, root: ROOT.subarray(1) })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: 'o', size: 0, root: ROOT })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: 'o', size: 1, root: ROOT, extensions: [''] })).toThrow(TypeError);
  });
});

describe('openCheckpoint', () => {
  const body = formatCheckpoint({ origin: log.name, size: 8, root: ROOT });
  const T = 1_700_000_000;

  it('opens a checkpoint of the Go checksum database', () => {
    const { checkpoint, cosignatures } = openCheckpoint(
      SUMDB_CHECKPOINT,
      'go.sum database tree',
      parseVerifierKey(SUMDB_VKEY),
    );
    expect(checkpoint.size).toBe(6476701);
    expect(checkpoint.root.toString('base64')).toBe('mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=');
    expect(cosignatures).toEqual([]);
  });

  it('returns the cosignatures of the cosigners it was given', () => {
    const note = signNote(body, [log]) + signatureLine(body, witness, T);
    const { checkpoint, cosignatures } = openCheckpoint(note, log.name, log, [witness]);
    expect(checkpoint).toMatchObject({ origin: log.name, size: 8 });
    expect(cosignatures.map((s) => [s.verifier.name, s.timestamp])).toEqual([[witness.name, T]]);
    expect(openCheckpoint(note, log.name, log).cosignatures).toEqual([]);
  });

  it('refuses a checkpoint of another origin', () => {
    expect(codeOf(() => openCheckpoint(SUMDB_CHECKPOINT, 'sum.golang.org', parseVerifierKey(SUMDB_VKEY)))).toBe(
      'origin_mismatch',
    );
  });

  it('refuses a checkpoint the log did not sign, even when a cosigner did', () => {
    const cosignedOnly = `${body}\n${signatureLine(body, witness, T)}`;
    expect(codeOf(() => openCheckpoint(cosignedOnly, log.name, log, [witness]))).toBe('log_signature_missing');
    const other = noteSigner(log.name, randomBytes(32));
    expect(codeOf(() => openCheckpoint(signNote(body, [other]), log.name, log))).toBe('note_unverified');
  });

  it('refuses a signed note whose text is no checkpoint', () => {
    expect(codeOf(() => openCheckpoint(signNote('hello\n', [log]), log.name, log))).toBe('checkpoint_malformed');
  });
});
