import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consistencyProof, EMPTY_ROOT } from '../../src/audit/merkle.ts';
import {
  formatVerifierKey,
  noteSigner,
  openNote,
  signatureLine,
  signNote,
  verifierOf,
} from '../../src/audit/signed-note.ts';
import { formatCheckpoint } from '../../src/audit/tlog-checkpoint.ts';
import { type AddCheckpointContext, addCheckpoint, TLOG_SIZE_TYPE } from '../../src/witness/add-checkpoint.ts';
import { FileWitnessStore } from '../../src/witness/file-store.ts';
import type { WitnessStore } from '../../src/witness/store.ts';
import { addBody, checkpointNote, goVerify, rootOf, tempDir, testLog } from './fixture.ts';

const NOW = 1_767_225_600;
const log = testLog('mcp-warden');
const other = testLog('other-log', 'other ');
const witness = noteSigner('witness.example/w1', randomBytes(32), 'cosignature/v1');
const ORIGIN = 'mcp-warden/host-1';

let store: FileWitnessStore;
let ctx: AddCheckpointContext;

beforeEach(async () => {
  store = new FileWitnessStore(join(tempDir(), 'state.json'));
  await store.start();
  ctx = { store, logKeys: [verifierOf(log.signer), verifierOf(other.signer)], signer: witness, now: () => NOW };
});
afterEach(async () => {
  await store.stop();
});

/** Submits the log's checkpoint at `size`, with a real proof from `old`. */
function submit(old: number, size: number, origin = ORIGIN) {
  const note = checkpointNote(log, origin, size);
  return addCheckpoint(addBody(old, consistencyProof(log.leaves, old, size), note), ctx);
}

describe('add-checkpoint accepts (c2sp.org/tlog-witness)', () => {
  it('a first checkpoint at old 0 with an empty proof: 200 and one cosignature line that verifies', async () => {
    const note = checkpointNote(log, ORIGIN, 5);
    const answer = await addCheckpoint(addBody(0, [], note), ctx);
    expect(answer).toMatchObject({ status: 200, code: 'cosigned', contentType: 'text/plain; charset=utf-8' });
    expect(answer.body).toMatch(/^— witness\.example\/w1 [A-Za-z0-9+/=]+\n$/);
    // The spec: the client may concatenate the answer to the checkpoint and open it with the witness key.
    const opened = openNote(note + answer.body, [verifierOf(witness)]);
    expect(opened.verified).toEqual([{ verifier: verifierOf(witness), timestamp: NOW }]);
    expect(await store.get(ORIGIN)).toMatchObject({ size: 5, root: rootOf(log.leaves, 5).toString('base64') });
  });

  it('a consistent extension with a real consistency proof, then the same checkpoint again', async () => {
    expect((await submit(0, 5)).status).toBe(200);
    expect((await submit(5, 13)).status).toBe(200);
    expect((await submit(13, 13)).status).toBe(200);
    expect((await submit(13, 64)).status).toBe(200);
    expect((await store.get(ORIGIN))?.size).toBe(64);
  });

  it('every chain of a trusted key is a log of its own, starting at old 0', async () => {
    expect((await submit(0, 20, 'mcp-warden/host-1')).status).toBe(200);
    expect((await submit(0, 3, 'mcp-warden/host-2/run 7')).status).toBe(200);
    expect((await store.list()).map((e) => [e.origin, e.size])).toEqual([
      ['mcp-warden/host-1', 20],
      ['mcp-warden/host-2/run 7', 3],
    ]);
  });

  it('a tree of size 0 with the empty root', async () => {
    const answer = await addCheckpoint(addBody(0, [], checkpointNote(log, ORIGIN, 0)), ctx);
    expect(answer.status).toBe(200);
    expect((await submit(0, 4)).status).toBe(200);
  });

  it('stores the text, the log signature and its cosignature, not the other signatures', async () => {
    const stranger = noteSigner('stranger', randomBytes(32));
    const text = formatCheckpoint({ origin: ORIGIN, size: 7, root: rootOf(log.leaves, 7), extensions: ['ext a'] });
    const note = signNote(text, [stranger, log.signer]);
    const answer = await addCheckpoint(addBody(0, [], note), ctx);
    expect(answer.status).toBe(200);
    const stored = (await store.get(ORIGIN))!.checkpoint;
    expect(stored).toBe(`${text}\n${signatureLine(text, log.signer)}${answer.body}`);
    const opened = openNote(stored, [verifierOf(log.signer), verifierOf(witness)]);
    expect(opened.verified).toHaveLength(2);
    expect(opened.unverified).toEqual([]);
  });

  it('the Go checker (transparency-dev/formats) verifies the stored checkpoint and its cosignature', async () => {
    await submit(0, 9);
    await submit(9, 33);
    const checkpoint = (await store.get(ORIGIN))!.checkpoint;
    const request = { origin: ORIGIN, vkey: log.vkey, cosigner_vkeys: [formatVerifierKey(witness)], checkpoint };
    const oldRoot = rootOf(log.leaves, 9).toString('hex');
    const proof = consistencyProof(log.leaves, 9, 33).map((h) => h.toString('hex'));
    const { status, verdict } = goVerify({ ...request, consistency: [{ old_size: 9, old_root: oldRoot, proof }] });
    expect(verdict).toMatchObject({ ok: true, size: 33, cosigned_at: [NOW], consistency: 1 });
    expect(status).toBe(0);
    // And refuses a cosignature that is not the witness's.
    const impostor = noteSigner('witness.example/w1', randomBytes(32), 'cosignature/v1');
    expect(goVerify({ ...request, cosigner_vkeys: [formatVerifierKey(impostor)] }).status).toBe(1);
  });
});

describe('add-checkpoint refuses', () => {
  it('an old size other than the one held: 409 with the held size as text/x.tlog.size', async () => {
    await submit(0, 13);
    for (const old of [0, 5, 12]) {
      const answer = await submit(old, 20);
      expect(answer).toEqual({
        status: 409,
        contentType: TLOG_SIZE_TYPE,
        body: '13\n',
        code: 'old_size_mismatch',
        origin: ORIGIN,
      });
    }
    expect((await store.get(ORIGIN))?.size).toBe(13);
  });

  it('an old size for a log never seen: 409 with size 0', async () => {
    expect(await submit(4, 9)).toMatchObject({ status: 409, contentType: TLOG_SIZE_TYPE, body: '0\n' });
  });

  it('a checkpoint smaller than the one held (a rollback): 400, or 409 when old is not the held size', async () => {
    await submit(0, 13);
    const note = checkpointNote(log, ORIGIN, 5);
    expect(await addCheckpoint(addBody(13, [], note), ctx)).toMatchObject({ status: 400, code: 'old_size_above_size' });
    expect(await addCheckpoint(addBody(5, [], note), ctx)).toMatchObject({ status: 409, body: '13\n' });
  });

  it('a fork: a proof that does not verify → 422, and nothing changes', async () => {
    await submit(0, 13);
    const fork = testLog('mcp-warden', 'forked ');
    // The forked tree's own, well-formed proof; the new root is the fork's.
    const note = checkpointNote(log, ORIGIN, 20, { root: rootOf(fork.leaves, 20) });
    const answer = await addCheckpoint(addBody(13, consistencyProof(fork.leaves, 13, 20), note), ctx);
    expect(answer).toMatchObject({ status: 422, code: 'proof_invalid', origin: ORIGIN });
    // The right tree's proof, but a checkpoint of another root.
    const mixed = await addCheckpoint(addBody(13, consistencyProof(log.leaves, 13, 20), note), ctx);
    expect(mixed).toMatchObject({ status: 422, code: 'proof_invalid' });
    expect((await store.get(ORIGIN))?.size).toBe(13);
  });

  it('a proof of the wrong length, or with a hash altered: 422', async () => {
    await submit(0, 13);
    const note = checkpointNote(log, ORIGIN, 20);
    const proof = consistencyProof(log.leaves, 13, 20);
    for (const bad of [proof.slice(1), [...proof, proof[0]!], [], [randomBytes(32), ...proof.slice(1)]]) {
      expect(await addCheckpoint(addBody(13, bad, note), ctx)).toMatchObject({ status: 422, code: 'proof_invalid' });
    }
  });

  it('the same size with another root: 422', async () => {
    await submit(0, 13);
    const note = checkpointNote(log, ORIGIN, 13, { root: randomBytes(32) });
    expect(await addCheckpoint(addBody(13, [], note), ctx)).toMatchObject({ status: 422, code: 'root_mismatch' });
  });

  it('a proof when the old size is 0: 422', async () => {
    const note = checkpointNote(log, ORIGIN, 8);
    const answer = await addCheckpoint(addBody(0, [rootOf(log.leaves, 4)], note), ctx);
    expect(answer).toMatchObject({ status: 422, code: 'proof_invalid' });
  });

  it('a checkpoint of size 0 whose root is not the empty tree’s: 422', async () => {
    const root = Buffer.from(EMPTY_ROOT).fill(7);
    const text = `${ORIGIN}\n0\n${root.toString('base64')}\n`;
    const answer = await addCheckpoint(addBody(0, [], signNote(text, [log.signer])), ctx);
    expect(answer).toMatchObject({ status: 422, code: 'empty_tree_root_mismatch' });
  });

  it('a checkpoint not signed by the trusted key of its origin: 403', async () => {
    const impostor = noteSigner('mcp-warden', randomBytes(32));
    const cases = [
      checkpointNote(log, ORIGIN, 5, { signers: [impostor] }),
      // other-log is trusted, but not for mcp-warden/… origins.
      checkpointNote(log, ORIGIN, 5, { signers: [other.signer] }),
    ];
    for (const note of cases) {
      expect(await addCheckpoint(addBody(0, [], note), ctx)).toMatchObject({ status: 403, code: 'signature_invalid' });
    }
    expect(await store.get(ORIGIN)).toBeUndefined();
  });

  it('a trusted key’s signature that does not verify: 403', async () => {
    const note = checkpointNote(log, ORIGIN, 5);
    const tampered = note.replace(`\n5\n`, '\n6\n');
    expect(await addCheckpoint(addBody(0, [], tampered), ctx)).toMatchObject({
      status: 403,
      code: 'signature_invalid',
    });
  });

  it('an origin no trusted key vouches for: 404', async () => {
    for (const origin of ['unknown/host-1', 'mcp-wardenx/host-1', 'mcp-warden', 'mcp-warden/', 'other']) {
      const note = checkpointNote(log, origin, 5);
      expect(await addCheckpoint(addBody(0, [], note), ctx)).toMatchObject({ status: 404, code: 'log_unknown' });
    }
  });

  it('a checkpoint whose signed text is not a checkpoint: 400', async () => {
    const note = signNote(`${ORIGIN}\n05\n${rootOf(log.leaves, 5).toString('base64')}\n`, [log.signer]);
    expect(await addCheckpoint(addBody(0, [], note), ctx)).toMatchObject({ status: 400, code: 'checkpoint_malformed' });
  });

  const good = checkpointNote(log, ORIGIN, 5);
  const root = rootOf(log.leaves, 5);
  const hash = rootOf(log.leaves, 3).toString('base64');
  const malformed: { note: string; body: string | Uint8Array }[] = [
    { note: 'an empty body', body: '' },
    { note: 'no old line', body: `\n${good}` },
    { note: 'a leading zero', body: `old 00\n\n${good}` },
    { note: 'a negative size', body: `old -1\n\n${good}` },
    { note: 'two spaces', body: `old  0\n\n${good}` },
    { note: 'CRLF line ends', body: `old 0\r\n\r\n${good}` },
    { note: 'a size past 2^53-1', body: `old 9007199254740993\n\n${good}` },
    { note: 'no empty line', body: `old 0\n${good}` },
    { note: 'nothing after the empty line', body: 'old 0\n\n' },
    { note: 'a proof line that is not base64', body: `old 0\n!!!!\n\n${good}` },
    { note: 'a proof hash of 31 bytes', body: `old 0\n${randomBytes(31).toString('base64')}\n\n${good}` },
    { note: 'unpadded base64', body: `old 0\n${hash.replace(/=$/, '')}\n\n${good}` },
    { note: '64 proof lines', body: `old 0\n${`${hash}\n`.repeat(64)}\n${good}` },
    { note: 'bytes that are not UTF-8', body: Buffer.concat([Buffer.from('old 0\n\n'), Buffer.from([0xff, 0xfe])]) },
    { note: 'a note without signatures', body: `old 0\n\n${formatCheckpoint({ origin: ORIGIN, size: 5, root })}` },
    { note: 'a note with no origin line', body: `old 0\n\n\n${good}` },
  ];

  for (const c of malformed) {
    it(`a malformed body (${c.note}): 400`, async () => {
      const answer = await addCheckpoint(c.body, ctx);
      expect(answer.status).toBe(400);
      expect(['body_malformed', 'checkpoint_malformed']).toContain(answer.code);
      expect(await store.list()).toEqual([]);
    });
  }
});

describe('add-checkpoint stays atomic and fails closed', () => {
  it('two requests racing from one old size: one is cosigned, the other is 409 with the winner’s size', async () => {
    await submit(0, 10);
    const answers = await Promise.all([submit(10, 20), submit(10, 30)]);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 409]);
    const held = (await store.get(ORIGIN))!.size;
    expect(answers.find((a) => a.status === 409)?.body).toBe(`${held}\n`);
  });

  it('a store that fails: 503, nothing cosigned', async () => {
    const failing: WitnessStore = {
      start: async () => {},
      get: async () => undefined,
      list: async () => [],
      status: async () => ({ status: 'ERROR' }),
      stop: async () => {},
      compareAndSet: async () => {
        throw new Error('disk full');
      },
    };
    const answer = await addCheckpoint(addBody(0, [], checkpointNote(log, ORIGIN, 5)), { ...ctx, store: failing });
    expect(answer).toMatchObject({ status: 503, code: 'store_unavailable' });
    expect(answer.body).not.toContain('—');
  });
});
