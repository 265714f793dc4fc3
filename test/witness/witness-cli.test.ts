import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointVerifierKey, loadCheckpointSigner } from '../../src/audit/checkpoint.ts';
import { consistencyProof } from '../../src/audit/merkle.ts';
import { openNote, parseVerifierKey } from '../../src/audit/signed-note.ts';
import { type RunningService, runCommand, startCommand } from '../helpers/cli.ts';
import { type PostgresServer, startPostgresServer } from '../helpers/postgres.ts';
import { addBody, rootOf, tempDir, testLog } from './fixture.ts';

// The real process (`node src/cli.ts witness …`) fed by the service's own checkpoint signer.
const leaves = testLog().leaves;
const dir = tempDir();
const serviceKey = join(dir, 'service', 'checkpoint.jwk.json');
let service: Awaited<ReturnType<typeof loadCheckpointSigner>>;
let logVkey: string;
let postgres: PostgresServer;

beforeAll(async () => {
  service = await loadCheckpointSigner(serviceKey);
  logVkey = checkpointVerifierKey(serviceKey)!;
  postgres = await startPostgresServer();
});
afterAll(async () => {
  await postgres?.stop();
});

function startWitness(args: string[]): Promise<RunningService> {
  return startCommand(['witness', '--listen', '127.0.0.1:0', '--log', logVkey, ...args], {
    cwd: dir,
    listening: /witness listening on (http:\/\/\S+)/,
  });
}

/** The service's checkpoint of `chain` at `size`, sent with a proof from `old`. */
async function add(url: string, chain: string, old: number, size: number) {
  const note = await service.sign({ chain, size, root: rootOf(leaves, size) });
  const body = addBody(old, consistencyProof(leaves, old, size), note);
  const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text(), note };
}

async function held(url: string): Promise<[string, number][]> {
  const { logs } = (await (await fetch(`${url}/checkpoints`)).json()) as { logs: { origin: string; size: number }[] };
  return logs.map((l) => [l.origin, l.size]);
}

async function stopped(witness: RunningService): Promise<number | null> {
  await witness.stop();
  return witness.child.exitCode;
}

describe('mcp-warden witness key', () => {
  it('creates the key once (mode 0600) and prints the same cosignature/v1 vkey', async () => {
    const keyFile = join(tempDir(), 'keys', 'witness.jwk.json');
    const first = await runCommand(['witness', 'key', '--key-file', keyFile, '--name', 'witness.example/w1'], dir);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`created a new key in ${keyFile}`);
    expect(parseVerifierKey(first.stdout.trim())).toMatchObject({ name: 'witness.example/w1', type: 'cosignature/v1' });
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const again = await runCommand(['witness', 'key', '--key-file', keyFile, '--name', 'witness.example/w1'], dir);
    expect([again.code, again.stdout, again.stderr]).toEqual([0, first.stdout, '']);
  });
});

const storages = [
  { name: 'a state file', args: () => ['--state', join(tempDir(), 'state.json')] },
  { name: 'PostgreSQL', args: () => ['--postgres', postgres.url, '--table-prefix', `e2e${Date.now()}_`] },
];

for (const storage of storages) {
  describe(`mcp-warden witness on ${storage.name}`, () => {
    it('cosigns over HTTP, stops on SIGTERM, and keeps its state across a restart', async () => {
      const keyFile = join(tempDir(), 'witness.jwk.json');
      const flags = ['--key-file', keyFile, ...storage.args()];
      const witness = await startWitness(flags);
      const vkey = (await runCommand(['witness', 'key', '--key-file', keyFile], dir)).stdout.trim();
      const first = await add(witness.url, 'host-1', 0, 5);
      expect(first).toMatchObject({ status: 200, type: 'text/plain; charset=utf-8' });
      const opened = openNote(first.note + first.body, [parseVerifierKey(vkey)]);
      expect(opened.verified[0]?.verifier.name).toBe('mcp-warden-witness');
      expect((await add(witness.url, 'host-1', 5, 12)).status).toBe(200);
      expect((await fetch(`${witness.url}/health`)).status).toBe(200);
      expect(await stopped(witness)).toBe(0);

      const again = await startWitness(flags);
      expect(await held(again.url)).toEqual([['mcp-warden/host-1', 12]]);
      expect(await add(again.url, 'host-1', 5, 20)).toMatchObject({
        status: 409,
        type: 'text/x.tlog.size',
        body: '12\n',
      });
      expect((await add(again.url, 'host-1', 12, 20)).status).toBe(200);
      // The service's next run is a new chain: a new log, from 0.
      expect((await add(again.url, 'host-2', 0, 3)).status).toBe(200);
      expect(await held(again.url)).toEqual([
        ['mcp-warden/host-1', 20],
        ['mcp-warden/host-2', 3],
      ]);
      expect(await stopped(again)).toBe(0);
    });
  });
}

describe('two witness processes', () => {
  it('on one state file: the second refuses to start', async () => {
    const state = join(tempDir(), 'state.json');
    const first = await startWitness(['--key-file', join(tempDir(), 'k.jwk.json'), '--state', state]);
    const second = await runCommand(
      [
        'witness',
        '--listen',
        '127.0.0.1:0',
        '--key-file',
        join(tempDir(), 'k.jwk.json'),
        '--log',
        logVkey,
        '--state',
        state,
      ],
      dir,
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('is held by another process');
    expect(await stopped(first)).toBe(0);
    expect(existsSync(`${state}.lock`)).toBe(false);
  });

  it('on one database: racing requests from the same old size, one is cosigned, the other is 409', async () => {
    const db = ['--postgres', postgres.url, '--table-prefix', 'shared_'];
    const a = await startWitness(['--key-file', join(tempDir(), 'a.jwk.json'), ...db]);
    const b = await startWitness(['--key-file', join(tempDir(), 'b.jwk.json'), ...db]);
    expect((await add(a.url, 'race', 0, 10)).status).toBe(200);
    let size = 10;
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all([add(a.url, 'race', size, size + 1), add(b.url, 'race', size, size + 2)]);
      expect(answers.map((x) => x.status).sort()).toEqual([200, 409]);
      size = answers[0]!.status === 200 ? size + 1 : size + 2;
      expect(answers.find((x) => x.status === 409)?.body).toBe(`${size}\n`);
      expect(await held(b.url)).toEqual([['mcp-warden/race', size]]);
    }
    expect(await stopped(a)).toBe(0);
    expect(await stopped(b)).toBe(0);
  });
});

describe('a witness command line that cannot run exits 2', () => {
  const key = ['--key-file', join(dir, 'usage.jwk.json')];
  const cases = [
    { note: 'no --log', args: ['witness', ...key, '--state', 's.json'], want: '--log <vkey> is required' },
    { note: 'no storage', args: ['witness', ...key, '--log', 'LOG'], want: 'give one of --state <file> or --postgres' },
    {
      note: 'both storages',
      args: ['witness', ...key, '--log', 'LOG', '--state', 's.json', '--postgres', 'postgres://x'],
      want: 'give one of --state',
    },
    {
      note: 'a log key that is not a vkey',
      args: ['witness', ...key, '--log', 'nope', '--state', 's'],
      want: '--log:',
    },
    { note: 'a bad --listen', args: ['witness', ...key, '--listen', '127.0.0.1', '--log', 'LOG'], want: '--listen' },
    { note: 'no --key-file', args: ['witness', 'key'], want: '--key-file <file> is required' },
    { note: 'an unknown verb', args: ['witness', 'sign'], want: 'unknown verb "sign"' },
    {
      note: 'a key name with a space',
      args: ['witness', 'key', ...key, '--name', 'a b'],
      want: '--name "a b" has a space',
    },
  ];
  for (const c of cases) {
    it(c.note, async () => {
      const args = c.args.map((a) => (a === 'LOG' ? logVkey : a));
      const { code, stderr } = await runCommand(args, dir);
      expect(stderr).toContain(c.want);
      expect(code).toBe(2);
    });
  }

  it('a cosignature key given as a log key', async () => {
    const keyFile = join(tempDir(), 'w.jwk.json');
    const cosigner = (await runCommand(['witness', 'key', '--key-file', keyFile], dir)).stdout.trim();
    const { code, stderr } = await runCommand(['witness', ...key, '--log', cosigner, '--state', 's.json'], dir);
    expect([code, stderr]).toEqual([2, expect.stringContaining('is a cosignature/v1 key, not an Ed25519 log key')]);
  });
});
