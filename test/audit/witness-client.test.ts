import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainSealer, recordLeaf } from '../../src/audit/chain.ts';
import { loadCheckpointSigner } from '../../src/audit/checkpoint.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { formatVerifierKey, noteSigner, signatureLine, verifierOf } from '../../src/audit/signed-note.ts';
import { WitnessClient } from '../../src/audit/witness-client.ts';

// The client side of tlog-witness, against small stand-ins whose answers are chosen:
// only a cosignature by the configured key counts as witnessed.
const witnessKey = noteSigner('witness.test/w1', randomBytes(32), 'cosignature/v1');
const vkey = formatVerifierKey(verifierOf(witnessKey));
let server: Server | undefined;
afterEach(() => server?.close());

async function standIn(
  answer: (body: string) => { status: number; body: string },
): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      const a = answer(body);
      res.writeHead(a.status, { 'content-type': 'text/plain' }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, bodies };
}

async function checkpointOf(records: number) {
  const signer = await loadCheckpointSigner(join(mkdtempSync(join(tmpdir(), 'mcp-warden-wc-')), 'k.jwk'));
  const sealer = new ChainSealer('host:chain');
  const sealed = Array.from({ length: records }, (_, i) => sealer.seal(auditRecord('decision', 0, `pep-${i}`)));
  return { sealed, note: await signer.sign({ chain: 'host:chain', size: records, root: sealer.root() }) };
}

const text = (note: string) => note.slice(0, note.indexOf('\n\n') + 1);

describe('sending checkpoints to a witness', () => {
  it('sends old 0 and an empty proof first, then a proof from what it cosigned', async () => {
    const witness = await standIn((body) => {
      const note = body.slice(body.indexOf('\n\n') + 2);
      return { status: 200, body: signatureLine(text(note), witnessKey, 1_767_225_600) };
    });
    const client = new WitnessClient([{ url: witness.url, vkey }], { timeoutMs: 2000, maxLagRecords: 1000 });
    const first = await checkpointOf(3);
    client.written(first.sealed.map(recordLeaf));
    expect(await client.submit(first.note, 3)).toEqual([]);
    expect(witness.bodies[0]).toMatch(/^old 0\n\n/);
    const more = await checkpointOf(7);
    client.written(more.sealed.slice(3).map(recordLeaf));
    expect(await client.submit(more.note, 7)).toEqual([]);
    expect(witness.bodies[1]).toMatch(/^old 3\n([A-Za-z0-9+/]{43}=\n)+\n/);
    expect(client.status()).toEqual([{ url: witness.url, size: 7, problem: null }]);
  });

  it('a 200 without its cosignature, a refusal, or no answer leaves the witness behind, saying why', async () => {
    const impostor = noteSigner('witness.test/w1', randomBytes(32), 'cosignature/v1');
    const answers = [
      (note: string) => ({ status: 200, body: signatureLine(text(note), impostor, 1) }),
      () => ({ status: 409, body: '5\n' }),
    ];
    for (const [i, answer] of answers.entries()) {
      const witness = await standIn((body) => answer(body.slice(body.indexOf('\n\n') + 2)));
      const client = new WitnessClient([{ url: witness.url, vkey }], { timeoutMs: 2000, maxLagRecords: 1000 });
      const { sealed, note } = await checkpointOf(3);
      client.written(sealed.map(recordLeaf));
      const [behind] = await client.submit(note, 3);
      expect(behind?.problem).toMatch(
        i === 0 ? /without a valid cosignature/ : /refused the checkpoint of size 3: 409/,
      );
      expect(behind?.size).toBe(0);
      server?.close();
    }
    const gone = new WitnessClient([{ url: 'http://127.0.0.1:9', vkey }], { timeoutMs: 500, maxLagRecords: 1000 });
    const { sealed, note } = await checkpointOf(2);
    gone.written(sealed.map(recordLeaf));
    expect((await gone.submit(note, 2))[0]?.problem).toMatch(/^unreachable/);
  });

  it('refuses a witness key that is not a cosignature key', () => {
    const logKey = formatVerifierKey(verifierOf(noteSigner('log', randomBytes(32))));
    expect(() => new WitnessClient([{ url: 'http://x', vkey: logKey }], { timeoutMs: 1, maxLagRecords: 1 })).toThrow(
      /not a cosignature\/v1 key/,
    );
  });
});
