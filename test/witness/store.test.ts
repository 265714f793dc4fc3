import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileWitnessStore } from '../../src/witness/file-store.ts';
import { PostgresWitnessStore } from '../../src/witness/postgres-store.ts';
import { type PostgresServer, startPostgresServer } from '../helpers/postgres.ts';
import { tempDir } from './fixture.ts';
import { describeWitnessStoreContract, entry } from './store-contract.ts';

describeWitnessStoreContract(
  'file',
  async () => {
    const file = join(tempDir(), 'witness', 'state.json');
    return () => new FileWitnessStore(file);
  },
  { shared: false },
);

let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await startPostgresServer();
});
afterAll(async () => {
  await postgres?.stop();
});

describeWitnessStoreContract(
  'postgres',
  async () => {
    // A fresh prefix is fresh storage; every store opened with it is another witness process.
    const tablePrefix = `t${randomBytes(5).toString('hex')}_`;
    return () => new PostgresWitnessStore({ url: postgres.url, tablePrefix });
  },
  { shared: true },
);

describe('the file store', () => {
  it('writes the whole state atomically as JSON, mode 0600, leaving no temp file', async () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    const store = new FileWitnessStore(file);
    await store.start();
    await store.compareAndSet(0, entry('log/a', 3));
    await store.compareAndSet(3, entry('log/a', 8));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      version: 1,
      logs: [{ ...withoutUpdatedAt(entry('log/a', 8)), updated_at: entry('log/a', 8).updatedAt }],
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['state.json', 'state.json.lock']);
    await store.stop();
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('refuses a second writer on the same file while the first runs', async () => {
    const file = join(tempDir(), 'state.json');
    const first = new FileWitnessStore(file);
    await first.start();
    await expect(new FileWitnessStore(file).start()).rejects.toThrow(/held by another process \(pid \d+/);
    await first.stop();
    const second = new FileWitnessStore(file);
    await second.start();
    await second.stop();
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const file = join(tempDir(), 'state.json');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(`${file}.lock`, `${gone}\n`);
    const store = new FileWitnessStore(file);
    await store.start();
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.pid}\n`);
    await store.stop();
  });

  it('refuses to start on a state it cannot read, rather than forget its logs', async () => {
    const cases = ['{"version": 1, "logs": [', '{"version": 2, "logs": []}', '{"version":1,"logs":[{"origin":"a"}]}'];
    for (const text of cases) {
      const file = join(tempDir(), 'state.json');
      writeFileSync(file, text);
      await expect(new FileWitnessStore(file).start()).rejects.toThrow(/the witness state .* (is not JSON|malformed)/);
      // The refused start released its lock.
      expect(existsSync(`${file}.lock`)).toBe(false);
    }
  });

  it('a write that fails rejects, keeps the old state and shows ERROR', async () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    const store = new FileWitnessStore(file);
    await store.start();
    await store.compareAndSet(0, entry('log/a', 3));
    // A directory where the state file goes: the rename over it fails.
    const blocked = new FileWitnessStore(join(dir, 'sub', 'state.json'));
    await blocked.start();
    mkdirSync(join(dir, 'sub', 'state.json'));
    await expect(blocked.compareAndSet(0, entry('log/b', 1))).rejects.toThrow();
    expect(await blocked.get('log/b')).toBeUndefined();
    expect((await blocked.status()).status).toBe('ERROR');
    await blocked.stop();
    await store.stop();
  });
});

describe('the PostgreSQL store', () => {
  it('keeps <prefix>witness_logs(origin text primary key, size bigint, root, checkpoint, updated_at)', async () => {
    const store = new PostgresWitnessStore({ url: postgres.url, tablePrefix: 'schema_check_' });
    await store.start();
    await store.compareAndSet(0, entry('log/a', 2));
    const client = new pg.Client(postgres.url);
    await client.connect();
    const { rows } = await client.query(
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
      ['schema_check_witness_logs'],
    );
    expect(rows).toEqual([
      { column_name: 'origin', data_type: 'text' },
      { column_name: 'size', data_type: 'bigint' },
      { column_name: 'root', data_type: 'text' },
      { column_name: 'checkpoint', data_type: 'text' },
      { column_name: 'updated_at', data_type: 'timestamp with time zone' },
    ]);
    const row = await client.query('SELECT origin, size FROM schema_check_witness_logs');
    expect(row.rows).toEqual([{ origin: 'log/a', size: '2' }]);
    await client.end();
    await store.stop();
  });

  it('two witnesses starting at once on a new table both get it', async () => {
    const tablePrefix = `t${randomBytes(5).toString('hex')}_`;
    const stores = [1, 2, 3].map(() => new PostgresWitnessStore({ url: postgres.url, tablePrefix }));
    await Promise.all(stores.map((s) => s.start()));
    for (const s of stores) await s.stop();
  });

  it('refuses a table prefix that is not a plain identifier', () => {
    for (const tablePrefix of ['x; DROP TABLE y; --', 'a.b', '1a', 'a-b']) {
      expect(() => new PostgresWitnessStore({ url: postgres.url, tablePrefix })).toThrow(TypeError);
    }
  });

  it('a database that is down: status ERROR and a rejected write, then it recovers', async () => {
    const store = new PostgresWitnessStore({ url: postgres.url, tablePrefix: 'down_', timeoutMs: 2_000 });
    await store.start();
    await postgres.halt();
    expect((await store.status()).status).toBe('ERROR');
    await expect(store.compareAndSet(0, entry('log/a', 1))).rejects.toThrow();
    await postgres.restart();
    expect(await store.status()).toEqual({ status: 'OK' });
    expect(await store.compareAndSet(0, entry('log/a', 1))).toBe(true);
    await store.stop();
  });
});

function withoutUpdatedAt(e: ReturnType<typeof entry>) {
  const { updatedAt: _, ...rest } = e;
  return rest;
}
