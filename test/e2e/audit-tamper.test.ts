import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashRecord, type SealedRecord } from '../../src/audit/chain.ts';
import { checkpointVerifierKey, loadCheckpointSigner } from '../../src/audit/checkpoint.ts';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { WitnessClient } from '../../src/audit/witness-client.ts';
import { type RunningService, runCommand, startCommand } from '../helpers/cli.ts';

// The tamper table: a real trail written by the file sink, its checkpoints cosigned by a
// real `mcp-warden witness` process, then changed the ways an operator with write access to
// var/ could change it. Each row is tried with `audit verify` alone and with `--witness`:
// every change is found — by the file alone where it can tell, by the witness where it cannot.
const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-tamper-'));
const keyFile = join(dir, 'var/keys/audit-checkpoint.jwk');
const witnessKeyFile = join(dir, 'witness-host/witness.jwk.json');
let witnessVkey: string;
let vkeys: string;

beforeAll(async () => {
  await loadCheckpointSigner(keyFile);
  vkeys = join(dir, 'auditor.vkeys');
  writeFileSync(vkeys, `${checkpointVerifierKey(keyFile)}\n`);
  witnessVkey = (await runCommand(['witness', 'key', '--key-file', witnessKeyFile], dir)).stdout.trim();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A witness of its own for each trail: it holds every chain of the log key it is given,
 * and each test's trail is a deployment of its own (one log per witness here).
 */
async function startWitness(state: string, port = 0): Promise<RunningService> {
  return startCommand(
    [
      'witness',
      '--listen',
      `127.0.0.1:${port}`,
      '--key-file',
      witnessKeyFile,
      '--log',
      checkpointVerifierKey(keyFile) as string,
      '--state',
      state,
    ],
    { cwd: dir, listening: /witness listening on (http:\/\/\S+)/ },
  );
}

/** Writes `runs` runs of `perRun` decisions into a fresh trail, every checkpoint sent to the witness. */
async function writeTrail(name: string, runs: number, perRun: number, url: string): Promise<string> {
  const path = join(dir, name, 'audit.jsonl');
  const signer = await loadCheckpointSigner(keyFile);
  for (let run = 0; run < runs; run += 1) {
    const sink = new FileAuditSink({
      path,
      signer,
      checkpointEveryRecords: 4,
      checkpointEveryMs: 3_600_000,
      maxFileBytes: 1 << 30,
      witness: new WitnessClient([{ url, vkey: witnessVkey }], { timeoutMs: 5000, maxLagRecords: 10_000 }),
      requireWitness: true,
    });
    await sink.start();
    for (let i = 0; i < perRun; i += 1) {
      await sink.append(auditRecord('decision', Date.now(), 'pep', { decision_id: `r${run}-${i}`, allow: true }));
    }
    await sink.stop();
  }
  return path;
}

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');
const write = (file: string, rows: readonly string[]) => writeFileSync(file, rows.map((r) => `${r}\n`).join(''));

async function verify(path: string, url?: string) {
  const witnessFlags = url === undefined ? [] : ['--witness', url, '--witness-key', witnessVkey];
  return runCommand(['audit', 'verify', '--file', path, '--keys', vkeys, ...witnessFlags], dir);
}

/** Runs `body` with a fresh witness, stopped after. */
async function withWitness<T>(name: string, body: (url: string) => Promise<T>): Promise<T> {
  const witness = await startWitness(join(dir, 'witness-host', `${name}.json`));
  try {
    return await body(witness.url);
  } finally {
    await witness.stop();
  }
}

describe('the tamper table: every change to a witnessed trail is found', () => {
  it('a genuine trail of three runs verifies clean, alone and against the witness', async () => {
    await withWitness('genuine', async (url) => {
      const path = await writeTrail('genuine', 3, 6, url);
      const alone = await verify(path);
      expect(alone.stdout).toMatch(/^ok: 24 records in 3 chain\(s\)/);
      expect(alone.code).toBe(0);
      const witnessed = await verify(path, url);
      expect(witnessed.stdout).toMatch(/3 witnessed checkpoint\(s\) consistent/);
      expect(witnessed.code).toBe(0);
    });
  });

  type Tamper = (path: string) => void;
  const rows: { note: string; tamper: Tamper; alone: RegExp | 'passes'; witnessed: RegExp | 'passes' }[] = [
    {
      note: 'alter a record',
      tamper: (p) =>
        write(
          p,
          lines(p).map((l, i) => (i === 3 ? l.replace('"allow":true', '"allow":false') : l)),
        ),
      alone: /record 4: the record was altered/,
      witnessed: /record 4: the record was altered/,
    },
    {
      note: 'delete a record',
      tamper: (p) =>
        write(
          p,
          lines(p).filter((_, i) => i !== 3),
        ),
      alone: /record 4 is missing or out of order/,
      witnessed: /record 4 is missing/,
    },
    {
      note: 'reorder two records',
      tamper: (p) => {
        const all = lines(p);
        [all[3], all[4]] = [all[4] as string, all[3] as string];
        write(p, all);
      },
      alone: /record 4 is missing or out of order \(found 5\)/,
      witnessed: /out of order/,
    },
    {
      note: 'insert a record, re-sealing the chain after it',
      tamper: (p) =>
        write(
          p,
          resealed(lines(p), (records) => records.splice(3, 0, forged(records[2] as SealedRecord))),
        ),
      alone: /are not the ones checkpoint 4 signed/,
      witnessed: /are not the ones/,
    },
    {
      note: 'truncate the tail of the last run, with its checkpoints',
      tamper: (p) => {
        write(p, lines(p).slice(0, -3));
        write(`${p}.checkpoints`, lines(`${p}.checkpoints`).slice(0, -1));
      },
      alone: 'passes',
      witnessed: /the chain ends at 5 but a checkpoint the witness cosigned vouches for 8: the tail was truncated/,
    },
    {
      note: 'delete the checkpoints file',
      tamper: (p) => rmSync(`${p}.checkpoints`),
      alone: 'passes',
      witnessed: 'passes', // the witness's own checkpoints stand in for them: nothing is lost
    },
    {
      note: 'delete the whole last run',
      tamper: (p) => {
        const last = (JSON.parse(lines(p).at(-1) as string) as SealedRecord).chain;
        write(
          p,
          lines(p).filter((l) => (JSON.parse(l) as SealedRecord).chain !== last),
        );
        write(
          `${p}.checkpoints`,
          lines(`${p}.checkpoints`).filter((l) => !JSON.parse(l).note.includes(last)),
        );
      },
      alone: 'passes',
      witnessed: /a checkpoint the witness cosigned vouches for 8 records of a chain the trail does not hold/,
    },
    {
      note: 'delete a middle run, with its checkpoints',
      tamper: (p) => {
        const chains = [...new Set(lines(p).map((l) => (JSON.parse(l) as SealedRecord).chain))];
        write(
          p,
          lines(p).filter((l) => (JSON.parse(l) as SealedRecord).chain !== chains[1]),
        );
        write(
          `${p}.checkpoints`,
          lines(`${p}.checkpoints`).filter((l) => !JSON.parse(l).note.includes(chains[1])),
        );
      },
      alone: /a run was deleted/,
      witnessed: /deleted/,
    },
  ];

  for (const row of rows) {
    const found = row.alone === 'passes' ? 'the file alone cannot tell' : 'found alone';
    it(`${row.note}: ${found}, and against the witness`, async () => {
      await withWitness(row.note.replace(/\W+/g, '-'), async (url) => {
        const path = await writeTrail(row.note.replace(/\W+/g, '-'), 3, 6, url);
        row.tamper(path);
        const alone = await verify(path);
        if (row.alone === 'passes') expect(alone.code, alone.stderr).toBe(0);
        else {
          expect(alone.stderr).toMatch(row.alone);
          expect(alone.code).toBe(1);
        }
        const witnessed = await verify(path, url);
        if (row.witnessed === 'passes') {
          expect(witnessed.stdout).toMatch(/0 signed checkpoint\(s\) verified, 3 witnessed checkpoint\(s\) consistent/);
          expect(witnessed.code, witnessed.stderr).toBe(0);
        } else {
          expect(witnessed.stderr).toMatch(row.witnessed);
          expect(witnessed.code).toBe(1);
        }
      });
    });
  }

  it('roll the file back to an older copy: the witness holds a larger tree', async () => {
    await withWitness('rollback', async (url) => {
      const path = join(dir, 'rollback', 'audit.jsonl');
      await writeTrail('rollback', 1, 6, url);
      copyFileSync(path, `${path}.old`);
      copyFileSync(`${path}.checkpoints`, `${path}.checkpoints.old`);
      // The same run goes on: a second run's chain is linked, so reuse a path and roll back after it.
      await writeTrail('rollback', 1, 6, url);
      copyFileSync(`${path}.old`, path);
      copyFileSync(`${path}.checkpoints.old`, `${path}.checkpoints`);
      const alone = await verify(path);
      expect(alone.code).toBe(0);
      const witnessed = await verify(path, url);
      expect(witnessed.stderr).toMatch(/of a chain the trail does not hold: it was deleted/);
      expect(witnessed.code).toBe(1);
    });
  });

  it('a forked history, re-signed with the key, passes alone; the witness refuses it and verify finds it', async () => {
    await withWitness('fork', async (url) => {
      const path = await writeTrail('fork', 1, 6, url);
      const signer = await loadCheckpointSigner(keyFile);
      // Whoever holds the checkpoint key rewrites a record and signs fresh checkpoints over it.
      const records = lines(path).map((l) => JSON.parse(l) as SealedRecord);
      const rewritten = resealed(lines(path), (rs) => {
        rs[2] = { ...(rs[2] as SealedRecord), allow: false };
      });
      write(path, rewritten);
      const { treeHash } = await import('../../src/audit/merkle.ts');
      const { recordLeaf } = await import('../../src/audit/chain.ts');
      const leaves = rewritten.map((l) => recordLeaf(JSON.parse(l) as SealedRecord));
      const chain = (records[0] as SealedRecord).chain;
      const notes = [4, 8].map((size) => signer.sign({ chain, size, root: treeHash(leaves, size) }));
      write(`${path}.checkpoints`, await Promise.all(notes.map(async (n) => JSON.stringify({ note: await n }))));
      expect((await verify(path)).code).toBe(0);
      // The witness will not cosign it: its checkpoint of 8 is not consistent with the one it holds.
      const forkedNote = await notes[1];
      const refused = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: `old 8\n\n${forkedNote}` });
      expect(refused.status).toBe(422);
      const witnessed = await verify(path, url);
      expect(witnessed.stderr).toMatch(/not the ones the witness cosigned at 8: a forked or rewritten history/);
      expect(witnessed.code).toBe(1);
    });
  });

  it('require_witness fails closed while the witness is down, and the sink recovers when it is back', async () => {
    const state = join(dir, 'outage-witness.json');
    let down = await startWitness(state);
    const path = join(dir, 'outage', 'audit.jsonl');
    const sink = new FileAuditSink({
      path,
      signer: await loadCheckpointSigner(keyFile),
      checkpointEveryRecords: 2,
      checkpointEveryMs: 3_600_000,
      maxFileBytes: 1 << 30,
      witness: new WitnessClient([{ url: down.url, vkey: witnessVkey }], { timeoutMs: 2000, maxLagRecords: 10_000 }),
      requireWitness: true,
    });
    await sink.start();
    const witnessUrl = down.url;
    await down.stop();
    // The checkpoint at 2 (start record + this one) cannot be cosigned: the next append is refused.
    await sink.append(auditRecord('decision', Date.now(), 'pep', { decision_id: 'a' }));
    await expect(sink.append(auditRecord('decision', Date.now(), 'pep', { decision_id: 'b' }))).rejects.toMatchObject({
      code: 'audit_unavailable',
      message: expect.stringMatching(/no witness cosignature/),
    });
    expect(sink.status()).toBe('ERROR');
    down = await startWitness(state, Number(new URL(witnessUrl).port));
    await sink.append(auditRecord('decision', Date.now(), 'pep', { decision_id: 'c' }));
    expect(sink.status()).toBe('OK');
    await sink.stop();
    await down.stop();
    const records = lines(path).map((l) => JSON.parse(l) as SealedRecord);
    expect(records.map((r) => r.decision_id ?? r.kind)).toEqual([
      'audit.chain_started',
      'a',
      'c',
      'audit.chain_closed',
    ]);
  });
});

/** The trail's lines after `change` on its records, re-sealed into a self-consistent hash chain per chain. */
function resealed(rows: readonly string[], change: (records: SealedRecord[]) => void): string[] {
  const records = rows.map((l) => JSON.parse(l) as SealedRecord);
  change(records);
  const heads = new Map<string, { seq: number; hash: string }>();
  return records.map((r) => {
    const head = heads.get(r.chain) ?? { seq: 0, hash: '0'.repeat(64) };
    const unsealed = { ...r, seq: head.seq + 1, prev: head.hash };
    const hash = hashRecord(unsealed);
    heads.set(r.chain, { seq: unsealed.seq, hash });
    return JSON.stringify({ ...unsealed, hash });
  });
}

function forged(after: SealedRecord): SealedRecord {
  return { ...after, decision_id: 'forged', allow: true };
}
