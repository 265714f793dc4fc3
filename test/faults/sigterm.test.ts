import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { heldJwks, postJson, startServe, until } from '../helpers/cli.ts';
import { sigtermUnderLoad } from '../helpers/faults-process.ts';
import { createTestIdp, SERVER } from '../helpers/tokens.ts';
import { expectScenario } from './expect-scenario.ts';

// In-flight requests finish with 200 and are audited, new ones are refused, a final checkpoint,
// exit 0, audit verify passes; the restarted service answers.
it('SIGTERM under load, then a restart', {
  timeout: 90_000,
}, async () => {
  expectScenario(await sigtermUnderLoad(), 20_000);
});

/** A fresh decision request the service answers at once (400, a bad body), else `refused` or 503 with its code. */
async function newRequest(url: string): Promise<{ status: number; code?: string } | 'refused'> {
  try {
    const res = await fetch(`${url}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: '{}',
    });
    return { status: res.status, code: ((await res.json()) as { code?: string }).code };
  } catch {
    return 'refused';
  }
}

it('SIGTERM drain: a new request is refused while the one in flight completes', async () => {
  // During the drain: after the signal, before the exit.
  const idp = await createTestIdp();
  const jwks = await heldJwks([idp.publicJwk]);
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-drain-'));
  const issuer = { issuer: idp.issuer.issuer, jwks_uri: jwks.url, jwks_timeout_ms: 30_000, algorithms: ['ES256'] };
  const config = { server: { shutdown_grace_ms: 30_000 }, identity: { issuers: [issuer] } };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const s = await startServe(['--config', 'config.json'], dir);
  try {
    const exited = once(s.child, 'exit');
    expect(await newRequest(s.url)).toMatchObject({ status: 400 }); // served before the signal
    const mcp = { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } };
    let answered = false;
    const inFlight = postJson(`${s.url}/v1/decide`, { token: await idp.mint(), server: SERVER, mcp }).finally(() => {
      answered = true;
    });
    // The decision waits on the held keys: it is in flight.
    await until(() => jwks.hits() >= 1, 'the decision to fetch the keys');

    s.child.kill('SIGTERM');
    let refused = { status: 400 } as Awaited<ReturnType<typeof newRequest>>;
    await until(async () => {
      refused = await newRequest(s.url);
      return refused === 'refused' || refused.status !== 400;
    }, 'a new request to be refused');
    // Refused during the drain: the process still runs and the request in flight is unanswered.
    expect(s.child.exitCode).toBeNull();
    expect(answered).toBe(false);
    expect(refused === 'refused' || (refused.status === 503 && refused.code === 'shutting_down')).toBe(true);

    jwks.release();
    const answer = await inFlight;
    expect([answer.status, answer.json.allow]).toEqual([200, true]);
    const [code] = await exited;
    expect(code).toBe(0);
  } finally {
    jwks.release();
    s.child.kill('SIGKILL');
    await jwks.close();
  }
});
