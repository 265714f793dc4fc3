import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, postJson, startServe, type RunningService } from '../helpers/cli.ts';
import { createTestIdp, ISSUER, SERVER, type TestIdp } from '../helpers/tokens.ts';

const run = promisify(execFile);
const call = (token: string) => ({ token, server: SERVER, mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A JWKS endpoint that holds every answer until `release()`: what keeps decisions in flight. */
async function heldJwks(keys: JWK[]): Promise<{ url: string; hits: () => number; release(): void; close(): Promise<void> }> {
  let hits = 0;
  let open = false;
  const held: (() => void)[] = [];
  const server: Server = createServer((_req, res) => {
    hits += 1;
    const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    if (open) answer();
    else held.push(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    hits: () => hits,
    release() {
      open = true;
      for (const answer of held.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** `status` of a fresh request, or `refused` when no connection is accepted. */
async function probe(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(url, { headers: { connection: 'close' } })).status;
  } catch {
    return 'refused';
  }
}

describe('serve: graceful shutdown on SIGTERM', () => {
  let idp: TestIdp;
  let jwks: Awaited<ReturnType<typeof heldJwks>>;
  let service: RunningService | undefined;
  afterEach(async () => {
    jwks?.release();
    service?.child.kill('SIGKILL');
    await jwks?.close();
    service = undefined;
  });

  /** A service whose issuer's keys are held, so the first decisions wait in flight. */
  async function start(server: Record<string, unknown>): Promise<{ dir: string; service: RunningService }> {
    idp = await createTestIdp();
    jwks = await heldJwks([idp.publicJwk]);
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-shutdown-'));
    const config = {
      server,
      identity: { issuers: [{ issuer: ISSUER, jwks_uri: jwks.url, jwks_timeout_ms: 20_000, algorithms: ['ES256'] }] },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    service = await startServe(['--config', 'config.json'], dir);
    return { dir, service };
  }

  it('readiness 503 first, then new requests refused, requests in flight answered 200 and audited, exit 0, and the trail verifies', async () => {
    const { dir, service: s } = await start({ shutdown_delay_ms: 1_500, shutdown_grace_ms: 10_000 });
    const exited = once(s.child, 'exit');
    const token = await idp.mint();
    const inFlight = [1, 2, 3].map(() => postJson(`${s.url}/v1/decide`, call(token)));
    await until(() => jwks.hits() >= 1, 'the first decision to fetch the keys');
    await sleep(200); // the other two reach the service too, and wait on the same keys

    s.child.kill('SIGTERM');
    const seen: (number | 'refused')[] = [];
    await until(async () => {
      seen.push(await probe(`${s.url}/readyz`));
      return seen.at(-1) !== 200;
    }, 'readiness to turn');
    expect(seen.at(-1)).toBe(503);
    await until(async () => (await probe(`${s.url}/livez`)) === 'refused', 'the listener to close');
    expect(s.child.exitCode).toBeNull(); // still finishing what is in flight

    jwks.release();
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => [a.status, a.json.allow])).toEqual([[200, true], [200, true], [200, true]]);
    const [code] = await exited;
    expect(code).toBe(0);

    const trail = join(dir, 'var/audit.jsonl');
    const logged = readFileSync(trail, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const decided = new Set(logged.filter((r) => r.kind === 'decision').map((r) => r.decision_id));
    for (const a of answers) expect(decided).toContain(a.json.decision_id);
    const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify', '--file', trail], { cwd: dir });
    expect(stdout).toMatch(/^ok: 3 records in 1 chain\(s\), \d+ signed checkpoint/);
  });

  it('a second signal exits at once, without waiting for requests in flight', async () => {
    const { service: s } = await start({ shutdown_grace_ms: 60_000 });
    const exited = once(s.child, 'exit');
    const stuck = postJson(`${s.url}/v1/decide`, call(await idp.mint())).catch((err: Error) => err);
    await until(() => jwks.hits() >= 1, 'the decision to fetch the keys');
    s.child.kill('SIGTERM');
    await sleep(300);
    const begun = Date.now();
    s.child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(128 + 15);
    expect(Date.now() - begun).toBeLessThan(2_000);
    expect(await stuck).toBeInstanceOf(Error);
  });

  it('cuts requests still in flight at shutdown_grace_ms, then stops and exits 0 with a trail that verifies', async () => {
    const { dir, service: s } = await start({ shutdown_grace_ms: 300 });
    const exited = once(s.child, 'exit');
    const stuck = postJson(`${s.url}/v1/decide`, call(await idp.mint())).catch((err: Error) => err);
    await until(() => jwks.hits() >= 1, 'the decision to fetch the keys');
    const begun = Date.now();
    s.child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(Date.now() - begun).toBeLessThan(5_000);
    expect(await stuck).toBeInstanceOf(Error);
    expect(s.output()).toMatch(/still in flight after 300 ms were cut/);
    await run(process.execPath, [CLI, 'audit', 'verify', '--file', join(dir, 'var/audit.jsonl')], { cwd: dir });
  });
});
