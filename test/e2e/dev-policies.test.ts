import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningService, startServe } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';

const SERVER = 'https://mcp.example.com/files';

describe('serve --dev --watch-policies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-devpol-'));
  const policies = join(dir, 'policies');
  const authz = join(policies, 'mcp/authz.rego');
  let service: RunningService;
  let token: string;

  beforeAll(async () => {
    cpSync(join(ROOT, 'policies'), policies, { recursive: true });
    service = await startServe(['--dev', '--watch-policies', policies], dir);
    token = (await postJson(`${service.url}/v1/dev/token`, { sub: 'alice', roles: ['reader'], server: SERVER })).json
      .token;
  });
  afterAll(async () => {
    await service?.stop();
  });

  const readFile = async () =>
    (
      await postJson(`${service.url}/v1/decide`, {
        token,
        server: SERVER,
        mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
      })
    ).json as { allow: boolean; reasons: { code: string }[]; policy: { revision: string } };

  /** Polls until `check` holds; answers the milliseconds it took. */
  async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < limitMs) {
      if (await check()) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`not within ${limitMs} ms; service output:\n${service.output().slice(-3000)}`);
  }

  // How soon is printed, not asserted (timings on a shared machine are noise); the bound is
  // only how long to wait before calling it a failure.
  it('an edit of a .rego file changes decisions, without a restart', async () => {
    expect((await readFile()).allow).toBe(true);
    writeFileSync(
      authz,
      `${readFileSync(authz, 'utf8')}
deny contains common.reason("frozen", "reads are frozen for maintenance") if _method == "tools/call"
`,
    );
    const ms = await within(15_000, async () => (await readFile()).reasons.some((r) => r.code === 'frozen'));
    console.log(`dev mode: the edited policy decided after ${Math.round(ms)} ms`);
  });

  it('a compile error keeps the old policy', async () => {
    const before = await readFile();
    const failures = () => service.output().split('[policy] policy build failed').length - 1;
    const failed = failures();
    writeFileSync(authz, `${readFileSync(authz, 'utf8')}\ndeny contains this is not rego\n`);
    // The builder reports the failed build of this edit: past that, no bundle of it can come.
    await within(15_000, async () => failures() > failed);
    const after = await readFile();
    expect(after.policy.revision).toBe(before.policy.revision);
    expect(after.reasons.map((r) => r.code)).toContain('frozen');
  });

  it("a compile error says opa's file, line and message, in the log and in /v1/status", async () => {
    // The previous test left authz.rego broken: this edit is a second, differently broken one.
    const broken = join(policies, 'mcp/broken.rego');
    const failures = () => service.output().split('[policy] policy build failed').length - 1;
    const failed = failures();
    writeFileSync(broken, 'package mcp.broken\n\nallow if {\n');
    await within(15_000, async () => failures() > failed);
    const report = service.output().split('[policy] policy build failed').at(-1) ?? '';
    expect(report).toMatch(/broken\.rego:\d+: rego_parse_error/);
    const status = await fetch(`${service.url}/v1/status`);
    expect(status.status).toBe(200);
    const body = (await status.json()) as { status: string; last_error: { message: string } | null };
    expect(body.status).toBe('WARN');
    expect(body.last_error?.message).toMatch(/broken\.rego:\d+: rego_parse_error/);
  });
});
