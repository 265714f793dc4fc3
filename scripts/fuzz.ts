#!/usr/bin/env node
/**
 * The fuzz and property targets of test/fuzz/, outside vitest, for longer runs:
 *
 *   node scripts/fuzz.ts --time 300            # each target for 300 s
 *   node scripts/fuzz.ts --runs 5000 --target jwt
 *   FUZZ_SEED=123 node scripts/fuzz.ts --runs 1000 --target decide   # replay a seed
 *
 * Prints each target's cases run, its outcomes, and any failure with fast-check's replay
 * (seed and path); writes the counts to --out (bench/results/fuzz-latest.json). Exit 1
 * when a target failed. Also reports whether the coverage-guided fuzzer (jazzer.js) can
 * run here, and why not.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { boundedRuns, fuzzSeed, runTarget, type FuzzResult, type FuzzTarget } from '../test/fuzz/harness.ts';
import { auditChainTarget } from '../test/fuzz/targets/audit-chain.ts';
import { bundleTarget } from '../test/fuzz/targets/bundle.ts';
import { decideBodyTarget } from '../test/fuzz/targets/decide-body.ts';
import { jwtTarget } from '../test/fuzz/targets/jwt.ts';
import { sessionIdTarget } from '../test/fuzz/targets/session-id.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Every target, by a short name. */
export const TARGETS: Record<string, FuzzTarget> = {
  decide: decideBodyTarget,
  jwt: jwtTarget,
  bundle: bundleTarget,
  'audit-chain': auditChainTarget,
  'session-id': sessionIdTarget,
};

/** Whether jazzer.js's native libFuzzer addon loads on this machine; the loader's message when it does not. */
export function jazzerStatus(): { available: boolean; reason: string } {
  const probe = spawnSync(process.execPath, ['-e', "require('@jazzer.js/fuzzer'); console.log('ok')"], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (probe.status === 0 && probe.stdout.includes('ok')) return { available: true, reason: 'the native addon loads' };
  const why = /Error: (.*)/.exec(probe.stderr)?.[1] ?? probe.stderr.trim().split('\n').at(-1) ?? 'unknown';
  const glibc = spawnSync('ldd', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
  return { available: false, reason: `${why} (this machine: ${glibc.trim()})` };
}

/** Runs the targets; each for `seconds` when given, else for `runs` cases (default: the CI count). */
export async function runFuzz(options: {
  seconds?: number;
  runs?: number;
  only?: string[];
  log?: (line: string) => void;
  /** Called after each target, so a later hang or crash keeps the results so far. */
  progress?: (results: readonly FuzzResult[]) => void;
}): Promise<FuzzResult[]> {
  const log = options.log ?? console.log;
  const results: FuzzResult[] = [];
  for (const [name, target] of Object.entries(TARGETS)) {
    if (options.only !== undefined && !options.only.some((o) => name.includes(o))) continue;
    const budget =
      options.seconds !== undefined ? { seconds: options.seconds } : { runs: options.runs ?? boundedRuns(target) };
    const seed = fuzzSeed();
    const span = options.seconds !== undefined ? `${options.seconds} s` : `${budget.runs} cases`;
    log(`[fuzz] ${name}: ${span}, seed ${seed} …`);
    const r = await runTarget(target, { ...budget, seed });
    results.push(r);
    options.progress?.(results);
    log(
      `[fuzz] ${name}: ${r.failed ? 'FAILED' : 'ok'} after ${r.runs} cases in ${r.seconds.toFixed(1)} s ` +
        `(seed ${r.seed})${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`,
    );
    log(`       outcomes ${JSON.stringify(r.outcomes)}`);
    if (r.report !== null) log(r.report);
  }
  return results;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      time: { type: 'string' },
      runs: { type: 'string' },
      target: { type: 'string', multiple: true },
      out: { type: 'string', default: join(ROOT, 'bench/results/fuzz-latest.json') },
    },
    strict: true,
  });
  const jazzer = jazzerStatus();
  console.log(
    `coverage-guided fuzzing (jazzer.js): ` +
      `${jazzer.available ? 'available' : `unavailable: ${jazzer.reason}`}; running the fast-check targets`,
  );
  const seconds = values.time === undefined ? undefined : Number(values.time);
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  const started = new Date();
  const write = (results: readonly FuzzResult[]) => {
    const record = {
      mode: seconds !== undefined ? `--time ${seconds}` : runs !== undefined ? `--runs ${runs}` : 'bounded (CI counts)',
      date: started.toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.versions.node}`,
      jazzer,
      results,
    };
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(record, null, 2)}\n`);
  };
  const results = await runFuzz({ seconds, runs, only: values.target, progress: write });
  write(results);
  const total = results.reduce((n, r) => n + r.runs, 0);
  console.log(
    `\n${total} cases over ${results.length} targets; ${results.filter((r) => r.failed).length} failed; ` +
      `written to ${values.out}`,
  );
  return results.some((r) => r.failed) ? 1 : 0;
}

if (import.meta.main) process.exitCode = await main();
