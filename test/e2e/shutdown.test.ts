import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, heldJwks, postJson, startServe, until, type HeldJwks, type RunningService } from '../helpers/cli.ts';
import { createTestIdp, SERVER, type TestIdp } from '../helpers/tokens.ts';

const run = promisify(execFile);
const call = (token: string) => ({
  token,
  server: SERVER,
  mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
});

/** `status` of a fresh request, or `refused` when no connection is accepted. */
async function probe(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(url, { headers: { connection: 'close' } })).status;
  } catch {
    return 'refused';
  }
}

describe('serve: graceful shutdown on SIGTERM', () => {
  let idps: TestIdp[];
  let held: HeldJwks[] = [];
  let service: RunningService | undefined;
  afterEach(async () => {
    for (const jwks of held) jwks.release();
    service?.child.kill('SIGKILL');
    await Promise.all(held.map((jwks) => jwks.close()));
    held = [];
    service = undefined;
  });

  /**
   * A service trusting `issuers` issuers whose keys are held: a decision for a token of
   * issuer i waits in flight, and the hit on its JWKS shows that it reached the service.
   */
  async function start(
    server: Record<string, unknown>,
    issuers = 1,
  ): Promise<{ dir: string; service: RunningService }> {
    idps = await Promise.all(Array.from({ length: issuers }, (_, i) => createTestIdp(`https://idp${i}.test.example`)));
    held = await Promise.all(idps.map((idp) => heldJwks([idp.publicJwk])));
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-shutdown-'));
    const config = {
      server,
      identity: {
        issuers: idps.map((idp, i) => ({
          issuer: idp.issuer.issuer,
          jwks_uri: held[i]!.url,
          jwks_timeout_ms: 20_000,
          algorithms: ['ES256'],
          roles: ['*'],
          scopes: ['*'],
        })),
      },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    service = await startServe(['--config', 'config.json'], dir);
    return { dir, service };
  }

  // Then exit 0, and the trail verifies.
  it('readiness 503 first, then new requests refused, requests in flight answered 200 and audited', async () => {
    const { dir, service: s } = await start({ shutdown_delay_ms: 1_500, shutdown_grace_ms: 10_000 }, 3);
    const exited = once(s.child, 'exit');
    const tokens = await Promise.all(idps.map((idp) => idp.mint()));
    const inFlight = tokens.map((token) => postJson(`${s.url}/v1/decide`, call(token)));
    await until(() => held.every((jwks) => jwks.hits() >= 1), 'every decision to fetch its keys');

    s.child.kill('SIGTERM');
    const seen: (number | 'refused')[] = [];
    await until(async () => {
      seen.push(await probe(`${s.url}/readyz`));
      return seen.at(-1) !== 200;
    }, 'readiness to turn');
    expect(seen.at(-1)).toBe(503);
    await until(async () => (await probe(`${s.url}/livez`)) === 'refused', 'the listener to close');
    expect(s.child.exitCode).toBeNull(); // still finishing what is in flight

    for (const jwks of held) jwks.release();
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => [a.status, a.json.allow])).toEqual([
      [200, true],
      [200, true],
      [200, true],
    ]);
    const [code] = await exited;
    expect(code).toBe(0);

    const trail = join(dir, 'var/audit/audit.jsonl');
    const logged = readFileSync(trail, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const decided = new Set(logged.filter((r) => r.kind === 'decision').map((r) => r.decision_id));
    for (const a of answers) expect(decided).toContain(a.json.decision_id);
    const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify', '--file', trail], { cwd: dir });
    // The 3 decisions between the chain's start record and the close record of the clean stop.
    expect(stdout).toMatch(/^ok: 5 records in 1 chain\(s\), \d+ signed checkpoint/);
    expect(logged.map((r) => r.kind)).toEqual([
      'audit.chain_started',
      'decision',
      'decision',
      'decision',
      'audit.chain_closed',
    ]);
  });

  it('a second signal exits at once with 128 + 15, without waiting for requests in flight', async () => {
    const { service: s } = await start({ shutdown_grace_ms: 60_000 });
    const exited = once(s.child, 'exit');
    const stuck = postJson(`${s.url}/v1/decide`, call(await idps[0]!.mint())).catch((err: Error) => err);
    await until(() => held[0]!.hits() >= 1, 'the decision to fetch the keys');
    s.child.kill('SIGTERM');
    await until(() => s.output().includes('SIGTERM: draining, then closing'), 'the first signal to be taken');
    s.child.kill('SIGTERM');
    // A clean shutdown exits 0, and the grace would hold it for a minute: 143 is the second signal's.
    const [code] = await exited;
    expect(code).toBe(128 + 15);
    expect(s.output()).toContain('SIGTERM again: exiting now');
    expect(await stuck).toBeInstanceOf(Error);
  });

  it('cuts requests still in flight at shutdown_grace_ms, then exits 0 with a trail that verifies', async () => {
    const { dir, service: s } = await start({ shutdown_grace_ms: 300 });
    const exited = once(s.child, 'exit');
    // One decision answered (a malformed token needs no keys), so the trail that must verify is not empty.
    expect((await postJson(`${s.url}/v1/decide`, call('not-a-token'))).json.allow).toBe(false);
    const stuck = postJson(`${s.url}/v1/decide`, call(await idps[0]!.mint())).catch((err: Error) => err);
    await until(() => held[0]!.hits() >= 1, 'the decision to fetch the keys');
    s.child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(await stuck).toBeInstanceOf(Error);
    expect(s.output()).toMatch(/still in flight after 300 ms were cut/);
    await run(process.execPath, [CLI, 'audit', 'verify', '--file', join(dir, 'var/audit/audit.jsonl')], { cwd: dir });
  });
});
