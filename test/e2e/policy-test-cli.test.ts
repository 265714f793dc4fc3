import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.ts';
import { OPA, ROOT } from '../helpers/paths.ts';

const run = promisify(execFile);

/** A scratch copy of policies/ and the cases, for `mcp-warden test` to judge. */
function scratch(): { policies: string; cases: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-test-cli-'));
  cpSync(join(ROOT, 'policies'), join(dir, 'policies'), { recursive: true });
  cpSync(join(ROOT, 'test/fixtures/cases'), join(dir, 'cases'), { recursive: true });
  return { policies: join(dir, 'policies'), cases: join(dir, 'cases') };
}
const test = (...args: string[]) => run(process.execPath, [CLI, 'test', ...args]);

describe('mcp-warden test <dir>', () => {
  it('passes the shipped policies and cases', async () => {
    const { policies, cases } = scratch();
    const { stdout } = await test(policies, '--cases', cases);
    expect(stdout).toMatch(/\d+\/\d+ cases pass/);
  });

  it('fails on unformatted Rego, showing the diff and the opa to run', async () => {
    const { policies } = scratch();
    appendFileSync(join(policies, 'mcp/authz.rego'), '\nx   :=    1\n');
    const failure = await test(policies).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain(`not opa-fmt clean (run: ${OPA} fmt -w ${policies})`);
    expect(failure?.stderr).toContain(`--- ${join(policies, 'mcp/authz.rego')}`);
    expect(failure?.stderr).toMatch(/^-x {3}:= {4}1$/m);
    expect(failure?.stderr).toMatch(/^\+x := 1$/m);
  });

  it("fails on a Rego parse error as a parse error, with opa's file, line and message", async () => {
    const { policies } = scratch();
    appendFileSync(join(policies, 'mcp/authz.rego'), '\ndeny contains this is not rego\n');
    const failure = await test(policies).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('the Rego does not parse');
    expect(failure?.stderr).toMatch(/mcp\/authz\.rego:\d+: rego_parse_error: /);
    expect(failure?.stderr).not.toContain('opa-fmt');
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
    const failure = await test(policies, '--cases', cases).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('invalid case file zz-typo.yaml');
    expect(failure?.stderr).toMatch(/zz-typo\.yaml: 0\.want: .*"alow"/);
    expect(failure?.stderr).not.toContain('want undefined');
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
