import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startServe, type RunningService } from '../helpers/cli.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis.ts';

const run = promisify(execFile);
const SERVER = 'https://mcp.example.com/files';

/** A POST on a connection of its own, so that the primary spreads requests over the workers. */
// biome-ignore lint/suspicious/noExplicitAny: test JSON of any shape, asserted field by field
function postFresh(url: string, body: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
          } catch {
            reject(new Error(`${res.statusCode}: not JSON: ${JSON.stringify(text)}`));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('serve with server.workers: 2', () => {
  let redis: RedisServer;
  let dir: string;
  let service: RunningService;

  beforeAll(async () => {
    redis = await startRedisServer();
    dir = mkdtempSync(join(tmpdir(), 'mcp-warden-workers-'));
    const config = {
      server: { workers: 2, dev: true, dev_key_file: join(dir, 'dev.json') },
      session: { store: 'redis', redis: { url: redis.url } },
      // The checkpoint key stays at its default (var/ under the working directory), where `audit verify` finds it.
      audit: { file: join(dir, 'audit.jsonl') },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    service = await startServe(['--config', join(dir, 'config.json')], dir);
    // startServe returns at the first worker's line; wait for the second one too.
    for (let waited = 0; (service.output().match(/mcp-warden listening on/g)?.length ?? 0) < 2; waited += 50) {
      if (waited > 30_000) throw new Error(`the second worker did not start:\n${service.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await service?.stop();
    await redis?.stop();
  });

  it('serves one port from two workers sharing sessions, each with its own verifiable audit chain', async () => {
    const { json: minted } = await postFresh(`${service.url}/v1/dev/token`, {
      sub: 'alice',
      roles: ['reader'],
      server: SERVER,
    });
    const { status, json: session } = await postFresh(`${service.url}/v1/sessions`, {
      token: minted.token,
      server: SERVER,
    });
    expect(status).toBe(201);
    const body = {
      token: minted.token,
      server: SERVER,
      session: session.id,
      mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
    };
    const answers = await Promise.all(Array.from({ length: 24 }, () => postFresh(`${service.url}/v1/decide`, body)));
    // A session created by one worker is honoured by the other: the store is shared.
    expect(answers.map((a) => a.json.allow)).toEqual(Array(24).fill(true));
    await service.stop();
    const files = [1, 2].map((i) => join(dir, `audit.w${i}.jsonl`));
    const chains = new Set<string>();
    let decisions = 0;
    for (const file of files) {
      expect(existsSync(file), file).toBe(true);
      const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify', '--file', file], { cwd: dir });
      expect(stdout).toMatch(/verified/i);
      const records = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { chain: string; kind: string });
      for (const r of records) chains.add(r.chain);
      decisions += records.filter((r) => r.kind === 'decision').length;
    }
    expect(chains.size).toBe(2);
    expect(decisions).toBe(24);
    expect(existsSync(join(dir, 'audit.jsonl'))).toBe(false);
  });
});

it('refuses workers without a shared session store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-workers-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ server: { workers: 2 } }));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', join(dir, 'config.json')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(2);
  expect(out).toContain('session.store "redis"');
});
