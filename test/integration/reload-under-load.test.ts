import { copyFileSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { c as tarCreate } from 'tar';
import { describe, expect, it } from 'vitest';
import { fixtureBundle } from '../helpers/paths.ts';
import { startTestService } from '../helpers/service.ts';
import { repackBundle } from '../policy/repack.ts';

const SERVER = 'https://mcp.example.com/files';
const LOAD_MS = 30_000;
const SWAPS = 20;

/** A bundle whose manifest names a revision but whose module is not WebAssembly. */
async function brokenBundle(dir: string): Promise<string> {
  const src = join(dir, 'broken-src');
  mkdirSync(src);
  writeFileSync(
    join(src, '.manifest'),
    JSON.stringify({
      revision: 'broken',
      wasm: [
        { entrypoint: 'mcp/authz/decision', module: '/policy.wasm' },
        { entrypoint: 'mcp/session/grant', module: '/policy.wasm' },
      ],
    }),
  );
  writeFileSync(join(src, 'policy.wasm'), 'not webassembly');
  writeFileSync(join(src, 'data.json'), '{}');
  const out = join(dir, 'broken.tar.gz');
  await tarCreate({ gzip: true, cwd: src, file: out }, ['.manifest', 'policy.wasm', 'data.json']);
  return out;
}

describe('hot reload under load', () => {
  it(`${SWAPS} bundle swaps during ${LOAD_MS / 1000} s of steady /v1/decide load drop no request`, {
    timeout: LOAD_MS + 30_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-reload-load-'));
    const path = join(dir, 'bundle.tar.gz');
    // A reload refuses a revision that is not newer, so each swap brings the next one: `<n>-allow`, `<n>-deny`.
    const policyOf = (n: number) => (n % 2 === 0 ? 'allow' : 'deny');
    const swaps = await Promise.all(
      Array.from({ length: SWAPS + 1 }, (_, n) =>
        repackBundle(fixtureBundle(`${policyOf(n)}-all`), join(dir, `${n}.tar.gz`), {
          revision: `${n}-${policyOf(n)}`,
        }),
      ),
    );
    copyFileSync(swaps[0] as string, path);
    const broken = await brokenBundle(dir);
    const s = await startTestService({}, { policy: { bundle: path, reload_debounce_ms: 50 } });
    const url = await s.app.listen({ host: '127.0.0.1', port: 0 });
    const body = JSON.stringify({
      token: await s.token(),
      server: SERVER,
      mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
    });

    const answers: { status: number; ms: number; allow?: boolean; revision?: string }[] = [];
    const deadline = performance.now() + LOAD_MS;
    const loop = async () => {
      while (performance.now() < deadline) {
        const started = performance.now();
        const res = await fetch(`${url}/v1/decide`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const json = (await res.json()) as { allow: boolean; policy: { revision: string } };
        answers.push({
          status: res.status,
          ms: performance.now() - started,
          allow: json.allow,
          revision: json.policy?.revision,
        });
      }
    };
    const swapper = async () => {
      for (let i = 0; i < SWAPS; i++) {
        await new Promise((r) => setTimeout(r, LOAD_MS / (SWAPS + 1)));
        const source = i === SWAPS / 2 ? broken : (swaps[i + 1] as string);
        copyFileSync(source, `${path}.next.tmp`);
        renameSync(`${path}.next.tmp`, path);
      }
    };
    await Promise.all([...Array.from({ length: 16 }, loop), swapper()]);
    await s.app.close();

    const latencies = answers.map((a) => a.ms).sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] as number;
    console.log(
      `reload under load: ${answers.length} decisions, ${SWAPS} swaps, p99 ${p99.toFixed(1)} ms, p50 ` +
        `${(latencies[Math.floor(latencies.length / 2)] as number).toFixed(1)} ms`,
    );
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const built = Array.from({ length: SWAPS + 1 }, (_, n) => `${n}-${policyOf(n)}`);
    const revisions = new Set(answers.map((a) => a.revision));
    expect([...revisions].filter((r) => !built.includes(r as string))).toEqual([]);
    expect(revisions.size).toBeGreaterThanOrEqual(2);
    // Every answer is the one its policy gives: no decision mixed two policies.
    expect(answers.filter((a) => a.allow !== a.revision?.endsWith('-allow'))).toEqual([]);

    const { readFileSync } = await import('node:fs');
    const records = readFileSync(s.auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const activated = new Set(records.filter((r) => r.kind === 'policy.activated').map((r) => r.policy_revision));
    expect(activated.has('broken')).toBe(false);
    expect(records.some((r) => r.kind === 'policy.rejected')).toBe(true);
    expect(activated.size).toBeGreaterThanOrEqual(2);
    // Every decision's recorded revision was active.
    for (const r of records.filter((x) => x.kind === 'decision')) expect(built).toContain(r.policy_revision);
    // The rejected broken bundle stopped no later swap: each one is newer than the last good one.
    expect(activated.has(built.at(-1))).toBe(true);
  });
});
