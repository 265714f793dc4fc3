import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.ts';
import { OPA, ROOT } from '../helpers/paths.ts';

const run = promisify(execFile);

/** A scratch copy of policies/, the cases and the Regal config above them, for `mcp-warden test` to judge. */
function scratch(): { policies: string; cases: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-test-cli-'));
  cpSync(join(ROOT, 'policies'), join(dir, 'policies'), { recursive: true });
  cpSync(join(ROOT, '.regal'), join(dir, '.regal'), { recursive: true });
  cpSync(join(ROOT, 'test/fixtures/cases'), join(dir, 'cases'), { recursive: true });
  return { policies: join(dir, 'policies'), cases: join(dir, 'cases') };
}
const test = (...args: string[]) => run(process.execPath, [CLI, 'test', ...args]);
const failure = (pending: Promise<unknown>) =>
  pending.then(
    () => null,
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
/** A rule Regal refuses (idiomatic/boolean-assignment) that opa fmt and opa check --strict accept. */
const LINT_VIOLATION = '\n# A boolean assignment.\nlinted := count(deny) == 0\n';

describe('mcp-warden test <dir>', () => {
  it('passes the shipped policies and cases', async () => {
    const { policies, cases } = scratch();
    const { stdout } = await test(policies, '--cases', cases);
    expect(stdout).toContain('== regal lint\n== opa test');
    expect(stdout).toMatch(/\d+\/\d+ cases pass/);
  });

  it('fails on a Regal lint violation, naming the rule, the file and the line', async () => {
    const { policies } = scratch();
    appendFileSync(join(policies, 'mcp/authz.rego'), LINT_VIOLATION);
    const failed = await failure(test(policies));
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('regal lint failed');
    expect(failed?.stderr).toMatch(/Rule: +boolean-assignment$/m);
    expect(failed?.stderr).toMatch(/Location: +\S*mcp\/authz\.rego:\d+:1$/m);
    // Regal's padding to the terminal's width is cut, and no test ran after the failed step.
    expect(failed?.stderr).not.toMatch(/ $/m);
    expect(failed?.stdout).not.toContain('== opa test');
  });

  it("lints with the project's .regal/config.yaml found above the folder", async () => {
    // Without it, Regal's defaults refuse every data.catalogue reference (imports/unresolved-reference).
    const { policies } = scratch();
    rmSync(join(policies, '../.regal'), { recursive: true });
    const failed = await failure(test(policies));
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/Rule: +unresolved-reference$/m);
    expect(failed?.stderr).toContain('data.catalogue');
  });

  it('leaves the lint out only when asked to with --skip-lint', async () => {
    const { policies } = scratch();
    appendFileSync(join(policies, 'mcp/authz.rego'), LINT_VIOLATION);
    const { stdout } = await test(policies, '--skip-lint');
    expect(stdout).toContain('== regal lint: skipped (--skip-lint)');
    expect(stdout).toContain('== opa test');
  });

  it('fails when regal cannot be run, saying how to get it', async () => {
    const { policies } = scratch();
    const missing = join(policies, 'no-such-regal');
    const env = { ...process.env, MCP_WARDEN_REGAL: missing };
    const failed = await failure(run(process.execPath, [CLI, 'test', policies], { env }));
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`cannot run ${missing}: spawnSync ${missing} ENOENT`);
    expect(failed?.stderr).toContain('run scripts/setup.sh, set MCP_WARDEN_REGAL, or pass --skip-lint');
  });

  it('fails on unformatted Rego, showing the diff and the opa to run', async () => {
    const { policies } = scratch();
    appendFileSync(join(policies, 'mcp/authz.rego'), '\nx   :=    1\n');
    const failed = await failure(test(policies));
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`not opa-fmt clean (run: ${OPA} fmt -w ${policies})`);
    expect(failed?.stderr).toContain(`--- ${join(policies, 'mcp/authz.rego')}`);
    expect(failed?.stderr).toMatch(/^-x {3}:= {4}1$/m);
    expect(failed?.stderr).toMatch(/^\+x := 1$/m);
  });

  it("fails on a Rego parse error as a parse error, with opa's file, line and message", async () => {
    const { policies } = scratch();
    appendFileSync(join(policies, 'mcp/authz.rego'), '\ndeny contains this is not rego\n');
    const failed = await failure(test(policies));
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('the Rego does not parse');
    expect(failed?.stderr).toMatch(/mcp\/authz\.rego:\d+: rego_parse_error: /);
    expect(failed?.stderr).not.toContain('opa-fmt');
  });

  it('refuses a case file with an unknown key, naming the key and the file', async () => {
    const { policies, cases } = scratch();
    writeFileSync(
      join(cases, 'zz-typo.yaml'),
      `- note: a reader may read
  input: { request: { tool: fs_read, arguments: { path: /srv/data/a } }, principal: { roles: [reader] } }
  want: { alow: true }
`,
    );
    const failed = await failure(test(policies, '--cases', cases));
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('invalid case file zz-typo.yaml');
    expect(failed?.stderr).toMatch(/zz-typo\.yaml: 0\.want: .*"alow"/);
    expect(failed?.stderr).not.toContain('want undefined');
  });

  it('fails when a case disagrees with the compiled policy, naming it', async () => {
    const { policies, cases } = scratch();
    writeFileSync(
      join(cases, 'zz-wrong.yaml'),
      `- note: a reader may delete (wrong on purpose)
  input: { request: { tool: fs_delete, arguments: { path: /srv/data/a } }, principal: { roles: [reader] } }
  want: { allow: true }
`,
    );
    await expect(test(policies, '--cases', cases)).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('FAIL zz-wrong.yaml: a reader may delete'),
    });
  });

  it('fails below the coverage floor', async () => {
    const { policies } = scratch();
    await expect(test(policies, '--coverage-min', '100')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('is below 100%'),
    });
  });
});
