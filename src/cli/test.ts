import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readBundleFile } from '../policy/bundle.ts';
import { checkCase, loadCaseFiles } from '../policy/cases.ts';
import { loadPolicyEngine } from '../policy/engine.ts';
import { opaBinary, regalBinary, wasmBuildArgs } from '../policy/opa-cli.ts';

interface CoverageReport {
  files?: Record<string, { covered_lines?: number; not_covered_lines?: number }>;
}

/**
 * `mcp-warden test <dir>`: what a policy folder must pass before it ships — `opa fmt`,
 * `opa check --strict`, `regal lint` (configured by the `.regal/` found above the folder;
 * `--skip-lint` leaves it out), `opa test` with line coverage of the policy files (tests
 * left out) at or above a floor, and data-driven cases evaluated against the *compiled*
 * WASM bundle.
 */
export async function testCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      cases: { type: 'string' },
      'coverage-min': { type: 'string', default: '90' },
      'skip-lint': { type: 'boolean', default: false },
    },
  });
  const dir = positionals[0];
  if (dir === undefined) {
    console.error('usage: mcp-warden test <policy dir> [--cases <dir>] [--coverage-min <n>] [--skip-lint]');
    return 2;
  }
  const opa = opaBinary();
  const run = (title: string, binary: string, binaryArgs: string[], hint: string) => {
    console.log(`== ${title}`);
    const result = spawnSync(binary, binaryArgs, { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (result.error) {
      console.error(`cannot run ${binary}: ${result.error.message} (${hint})`);
      return { ok: false, ran: false, stdout: '' };
    }
    return { ok: result.status === 0, ran: true, stdout: `${result.stdout}${result.stderr}` };
  };
  const step = (title: string, opaArgs: string[]) =>
    run(title, opa, opaArgs, 'run scripts/setup.sh, or set MCP_WARDEN_OPA');

  // `opa fmt --list` fails only when a file does not parse; it lists the files it would change.
  const fmt = step('opa fmt', ['fmt', '--list', dir]);
  if (!fmt.ok) return fail(fmt.stdout && `the Rego does not parse:\n${fmt.stdout}`);
  const unformatted = fmt.stdout.split('\n').filter((line) => line.trim() !== '');
  if (unformatted.length > 0) {
    const diffs = unformatted.map((file) => fmtDiff(opa, file)).join('\n');
    return fail(`not opa-fmt clean (run: ${opa} fmt -w ${dir}):\n${diffs}`);
  }
  const check = step('opa check --strict', ['check', '--strict', dir]);
  if (!check.ok) return fail(check.stdout);
  if (values['skip-lint']) {
    console.log('== regal lint: skipped (--skip-lint)');
  } else {
    const regal = regalBinary();
    const hint = 'run scripts/setup.sh, set MCP_WARDEN_REGAL, or pass --skip-lint';
    const lint = run('regal lint', regal, ['lint', '--format', 'pretty', '--no-color', dir], hint);
    if (!lint.ran) return 1;
    if (!lint.ok) {
      // Regal pads its report to the terminal's width: trailing blanks only make logs longer.
      const report = lint.stdout.replace(/[ \t]+$/gm, '');
      return fail(`regal lint failed (each problem names its rule and the rule's docs):\n${report}`);
    }
  }
  const tests = step('opa test', ['test', dir]);
  process.stdout.write(tests.stdout);
  if (!tests.ok) return fail('opa test failed');
  const coverage = step('coverage (policy files, tests left out)', ['test', '--coverage', '--format=json', dir]);
  if (!coverage.ok) return fail(coverage.stdout);
  const total = policyCoverage(JSON.parse(coverage.stdout) as CoverageReport);
  const min = Number(values['coverage-min']);
  console.log(`${total.toFixed(2)}% line coverage of the policy files (floor ${min}%)`);
  if (!(total >= min)) return fail(`coverage ${total.toFixed(2)}% is below ${min}%`);

  if (values.cases === undefined) return 0;
  const work = mkdtempSync(join(tmpdir(), 'mcp-warden-test-'));
  try {
    const bundle = join(work, 'bundle.tar.gz');
    const build = step('opa build -t wasm', wasmBuildArgs(dir, bundle, 'test'));
    if (!build.ok) return fail(build.stdout);
    const engine = await loadPolicyEngine(await readBundleFile(bundle, 64 << 20));
    console.log(`== cases against the compiled bundle (${values.cases})`);
    let failed = 0;
    let count = 0;
    let files: ReturnType<typeof loadCaseFiles>;
    try {
      files = loadCaseFiles(values.cases);
    } catch (err) {
      return fail((err as Error).message);
    }
    for (const { file, cases } of files) {
      for (const c of cases) {
        count += 1;
        const problems = checkCase(engine, c);
        if (problems.length > 0) {
          failed += 1;
          console.error(`FAIL ${file}: ${c.note}\n  ${problems.join('\n  ')}`);
        }
      }
    }
    console.log(`${count - failed}/${count} cases pass`);
    return failed === 0 ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What `opa fmt` would change in `file`, as a unified diff (the system's `diff -u`). */
function fmtDiff(opa: string, file: string): string {
  const formatted = spawnSync(opa, ['fmt', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const labels = ['--label', file, '--label', `${file} (opa fmt)`];
  const diff = spawnSync('diff', ['-u', ...labels, file, '-'], { encoding: 'utf8', input: formatted.stdout });
  // diff exits 1 when the files differ. Without diff, point to opa's own diff (colour only, whole file).
  if (diff.error) return `${file}: ${diff.error.message} (see: ${opa} fmt -d ${file})`;
  return diff.stdout;
}

function policyCoverage(report: CoverageReport): number {
  let covered = 0;
  let missed = 0;
  for (const [file, c] of Object.entries(report.files ?? {})) {
    if (file.endsWith('_test.rego')) continue;
    covered += c.covered_lines ?? 0;
    missed += c.not_covered_lines ?? 0;
  }
  return covered + missed === 0 ? 0 : (100 * covered) / (covered + missed);
}

function fail(message: string): number {
  console.error(message);
  return 1;
}
