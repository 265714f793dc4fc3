import { hash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consistencyProof } from '../../src/audit/merkle.ts';
import { noteSigner, openNote, verifierOf } from '../../src/audit/signed-note.ts';
import { FileWitnessStore } from '../../src/witness/file-store.ts';
import { createWitnessServer, DEFAULT_BODY_LIMIT } from '../../src/witness/http-server.ts';
import { addBody, checkpointNote, tempDir, testLog } from './fixture.ts';

const log = testLog('mcp-warden');
const witness = noteSigner('mcp-warden-witness', randomBytes(32), 'cosignature/v1');
const lines: string[] = [];
let store: FileWitnessStore;
let server: Server;
let base: string;

beforeAll(async () => {
  store = new FileWitnessStore(join(tempDir(), 'state.json'));
  await store.start();
  const context = { store, logKeys: [verifierOf(log.signer)], signer: witness, now: () => 1_800_000_000 };
  server = createWitnessServer({ context, log: (line) => lines.push(line) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await store.stop();
});

async function post(body: string, path = '/add-checkpoint') {
  const res = await fetch(base + path, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

function add(origin: string, old: number, size: number) {
  return post(addBody(old, consistencyProof(log.leaves, old, size), checkpointNote(log, origin, size)));
}

describe('the witness over HTTP', () => {
  it('POST /add-checkpoint cosigns, and answers 409 text/x.tlog.size on a stale old size', async () => {
    const first = await add('mcp-warden/run-a', 0, 10);
    expect(first).toMatchObject({ status: 200, type: 'text/plain; charset=utf-8' });
    expect(first.body).toMatch(/^— mcp-warden-witness \S+\n$/);
    expect(await add('mcp-warden/run-a', 10, 17)).toMatchObject({ status: 200 });
    expect(await add('mcp-warden/run-a', 10, 20)).toEqual({ status: 409, type: 'text/x.tlog.size', body: '17\n' });
    expect(lines).toContain('witness: 409 old_size_mismatch mcp-warden/run-a');
  });

  it('answers the refusals of the protocol with their status codes', async () => {
    expect((await post('old 0\n')).status).toBe(400);
    expect((await add('stranger/run', 0, 3)).status).toBe(404);
    const impostor = testLog('mcp-warden');
    const forged = addBody(0, [], checkpointNote(impostor, 'mcp-warden/run-x', 3));
    expect((await post(forged)).status).toBe(403);
    const fork = testLog('mcp-warden', 'fork ');
    const forkNote = checkpointNote(fork, 'mcp-warden/run-a', 30, { signers: [log.signer] });
    expect((await post(addBody(17, consistencyProof(fork.leaves, 17, 30), forkNote))).status).toBe(422);
  });

  it('refuses a body over the limit with 413, and other methods and paths', async () => {
    const big = await post(`old 0\n\n${'x'.repeat(DEFAULT_BODY_LIMIT)}`);
    expect(big.status).toBe(413);
    // Chunked, with no content-length: cut while reading.
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const init = { method: 'POST', body: stream, duplex: 'half' } as RequestInit;
    expect((await fetch(`${base}/add-checkpoint`, init)).status).toBe(413);
    const get = await fetch(`${base}/add-checkpoint`);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    expect((await fetch(`${base}/checkpoints`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${base}/nowhere`)).status).toBe(404);
    expect((await post('old 0\n\n', '/add-checkpoint/')).status).toBe(404);
  });

  it('GET /checkpoints lists every origin held with the log signature and the cosignature', async () => {
    await add('mcp-warden/run-b', 0, 4);
    const res = await fetch(`${base}/checkpoints`);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const { logs } = (await res.json()) as { logs: { origin: string; size: number; checkpoint: string }[] };
    expect(logs.map((l) => [l.origin, l.size])).toEqual([
      ['mcp-warden/run-a', 17],
      ['mcp-warden/run-b', 4],
    ]);
    for (const l of logs) {
      const opened = openNote(l.checkpoint, [verifierOf(log.signer), verifierOf(witness)]);
      expect(opened.verified.map((s) => s.verifier.name)).toEqual(['mcp-warden', 'mcp-warden-witness']);
      expect(opened.text.startsWith(`${l.origin}\n${l.size}\n`)).toBe(true);
    }
    const some = (await (await fetch(`${base}/checkpoints?prefix=mcp-warden/run-b`)).json()) as { logs: unknown[] };
    expect(some.logs).toHaveLength(1);
    expect(await (await fetch(`${base}/checkpoints?prefix=other/`)).json()).toEqual({ logs: [] });
  });

  it('GET /<origin hash>/checkpoint: the latest cosigned checkpoint (tlog-witness monitoring), else 404', async () => {
    const res = await fetch(`${base}/${hash('sha256', 'mcp-warden/run-a', 'hex')}/checkpoint`);
    expect(res.status).toBe(200);
    const note = await res.text();
    expect(note).toBe((await store.get('mcp-warden/run-a'))!.checkpoint);
    expect((await fetch(`${base}/${hash('sha256', 'mcp-warden/none', 'hex')}/checkpoint`)).status).toBe(404);
  });

  it('GET /health shows the store', async () => {
    const res = await fetch(`${base}/health`);
    expect([res.status, await res.json()]).toEqual([200, { status: 'OK', store: { status: 'OK' } }]);
  });
});
