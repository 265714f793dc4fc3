// Side by side, in process (issue 8): mcp-warden's decide() against the policy evaluation
// alone through opa-wasm, OPA's own Go evaluator (`opa bench`) on the same Rego and input,
// and Cedar (cedar-wasm) on an equivalent policy. One run, rounds alternated A B C … so
// that the machine's drift falls on every system alike; medians and ratios.
//
//   node bench/compare/in-process.ts [--quick] [--gomaxprocs=N]
//
// (bench/compare/run.ts runs this and bench/compare/http.ts together.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decide } from '../../src/decision/decide.ts';
import type { PolicyInput } from '../../src/policy/engine.ts';
import { BENCH_CALLER } from '../lib/core.ts';
import { runFor } from '../lib/rounds.ts';
import { median } from '../lib/stats.ts';
import {
  cedarRequest,
  decisionOf,
  isAuthorized,
  loadCedar,
  statefulIsAuthorized,
  type CedarSetup,
} from './lib/cedar.ts';
import { parseArgs, fmtInt, fmtPct } from './lib/cli.ts';
import { runCommand } from './lib/proc.ts';
import { createCompareCore, requestFacts, type RequestFacts } from './lib/scenario.ts';
import { goEnv, OPA_BIN, POLICIES_DIR } from './lib/tools.ts';

export interface InProcessCompareOptions {
  warmupMs: number;
  rounds: number;
  roundMs: number;
  /** decide() calls kept in flight for the throughput figure. */
  concurrency: number;
  gomaxprocs?: number | undefined;
}

export const IN_PROCESS_FULL: InProcessCompareOptions = { warmupMs: 1000, rounds: 5, roundMs: 3000, concurrency: 64 };
export const IN_PROCESS_QUICK: InProcessCompareOptions = { warmupMs: 300, rounds: 2, roundMs: 1000, concurrency: 64 };

export interface InProcessSystem {
  readonly key: string;
  readonly label: string;
  /** How it was driven: in flight, sequential, which threads. */
  readonly how: string;
  readonly perRound: readonly number[];
  readonly median: number;
}

export interface InProcessCompareResult {
  readonly options: InProcessCompareOptions;
  readonly inputBytes: number;
  readonly systems: readonly InProcessSystem[];
  /** The key of the reference the ratios are taken against. */
  readonly reference: string;
  readonly checks: readonly string[];
}

interface Target {
  key: string;
  label: string;
  how: string;
  /** Runs one timed round of about `ms`; answers operations per second. */
  round(ms: number): Promise<number>;
  warmup(ms: number): Promise<void>;
}

/** A target timed in this process: `concurrency` loops awaiting `op` back to back. */
function looped(key: string, label: string, how: string, op: () => unknown, concurrency: number): Target {
  return {
    key,
    label,
    how,
    async warmup(ms) {
      await runFor(op, ms, concurrency);
    },
    async round(ms) {
      const start = performance.now();
      const count = await runFor(op, ms, concurrency);
      return (count * 1000) / (performance.now() - start);
    },
  };
}

/** OPA's Go evaluator: one `opa bench` child process per round; its ns/op as a rate. */
function opaBench(inputFile: string, gomaxprocs: number | undefined): Target {
  const once = async (): Promise<number> => {
    const out = await runCommand(
      OPA_BIN,
      ['bench', '--format', 'json', '-d', POLICIES_DIR, '-i', inputFile, 'data.mcp.authz.decision'],
      goEnv(gomaxprocs),
    );
    const result = JSON.parse(out) as { N?: number; T?: number };
    if (!result.N || !result.T) throw new Error(`opa bench printed no N/T: ${out.slice(0, 300)}`);
    return 1e9 / (result.T / result.N);
  };
  return {
    key: 'opa_bench',
    label: 'OPA Go evaluator (`opa bench`, same Rego + data + input)',
    how:
      'sequential, prepared query; Go benchmark loop (~1 s) ' +
      'in a child process per round (its GC may use the other core)',
    // Go's benchmark loop warms itself up (b.N grows until it runs for a second).
    async warmup() {},
    round: () => once(),
  };
}

export async function runInProcessCompare(
  options: InProcessCompareOptions,
  log: (line: string) => void = () => {},
): Promise<InProcessCompareResult> {
  const core = await createCompareCore();
  const dir = mkdtempSync(join(tmpdir(), 'warden-compare-'));
  try {
    const { deps, request, input } = core;
    const engine = deps.policy.get();
    const facts = requestFacts(input);
    const cedar = loadCedar();
    const cedarCall = cedarRequest(cedar, facts);
    const inputFile = join(dir, 'input.json');
    const inputJson = JSON.stringify(input);
    writeFileSync(inputFile, inputJson);

    const checks = await verifyAll({ core, engine, input, facts, cedar, inputFile, gomaxprocs: options.gomaxprocs });
    for (const line of checks) log(`check: ${line}`);

    const full = () => decide(deps, request, BENCH_CALLER);
    const targets: Target[] = [
      looped(
        'decide_concurrent',
        `mcp-warden \`decide()\`, ${options.concurrency} in flight`,
        `${options.concurrency} in flight on one event loop (audit fdatasync on libuv's pool)`,
        full,
        options.concurrency,
      ),
      looped(
        'decide_sequential',
        'mcp-warden `decide()`, 1 in flight',
        'sequential awaits (each waits for its audit write)',
        full,
        1,
      ),
      looped(
        'opa_wasm',
        'policy alone: opa-wasm `engine.decide(input)`',
        'sequential, synchronous',
        () => engine.decide(input),
        1,
      ),
      opaBench(inputFile, options.gomaxprocs),
      looped(
        'cedar_stateful',
        'Cedar `statefulIsAuthorized` (preparsed policy set, no schema)',
        'sequential, synchronous',
        () => statefulIsAuthorized(cedarCall),
        1,
      ),
      looped(
        'cedar',
        'Cedar `isAuthorized` (policy text parsed per call)',
        'sequential, synchronous',
        () => isAuthorized(cedar, cedarCall),
        1,
      ),
    ];

    for (const target of targets) await target.warmup(options.warmupMs);
    const perRound: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.key, []]));
    for (let round = 1; round <= options.rounds; round++) {
      for (const target of targets) {
        const perSecond = await target.round(options.roundMs);
        perRound[target.key]!.push(perSecond);
        log(`round ${round} ${target.key.padEnd(18)} ${fmtInt(perSecond).padStart(9)} /s`);
      }
    }
    return {
      options,
      inputBytes: Buffer.byteLength(inputJson),
      systems: targets.map((t) => ({
        key: t.key,
        label: t.label,
        how: t.how,
        perRound: perRound[t.key]!,
        median: median(perRound[t.key]!),
      })),
      reference: 'decide_concurrent',
      checks,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await core.close();
  }
}

/**
 * Every system must allow the benchmarked request before it is timed, and the Cedar
 * policy must agree with the Rego on the neighbouring requests it claims to cover.
 */
interface VerifyParts {
  core: Awaited<ReturnType<typeof createCompareCore>>;
  engine: ReturnType<Awaited<ReturnType<typeof createCompareCore>>['deps']['policy']['get']>;
  input: PolicyInput;
  facts: RequestFacts;
  cedar: CedarSetup;
  inputFile: string;
  gomaxprocs: number | undefined;
}

async function verifyAll(parts: VerifyParts): Promise<string[]> {
  const { core, engine, input, facts, cedar, inputFile, gomaxprocs } = parts;
  const checks: string[] = [];
  const first = await decide(core.deps, core.request, BENCH_CALLER);
  if (!first.allow) throw new Error(`mcp-warden decide() denied the bench request: ${JSON.stringify(first.reasons)}`);
  checks.push('mcp-warden decide() → allow: true');
  const alone = engine.decide(input);
  if (!alone.allow) throw new Error(`opa-wasm denied the bench input: ${JSON.stringify(alone.reasons)}`);
  checks.push('opa-wasm engine.decide(input) → allow: true');
  const evaluated = JSON.parse(
    await runCommand(
      OPA_BIN,
      ['eval', '--format', 'json', '-d', POLICIES_DIR, '-i', inputFile, 'data.mcp.authz.decision'],
      goEnv(gomaxprocs),
    ),
  ) as { result?: { expressions?: { value?: { allow?: unknown } }[] }[] };
  const opaAllow = evaluated.result?.[0]?.expressions?.[0]?.value?.allow;
  if (opaAllow !== true)
    throw new Error(`opa eval did not allow the bench input: ${JSON.stringify(evaluated).slice(0, 500)}`);
  checks.push('`opa eval` of the same query, data and input → allow: true');
  const call = cedarRequest(cedar, facts);
  for (const [name, answer] of [
    ['isAuthorized', isAuthorized(cedar, call)],
    ['statefulIsAuthorized', statefulIsAuthorized(call)],
  ] as const) {
    if (decisionOf(answer) !== 'allow')
      throw new Error(`Cedar ${name} denied the bench request: ${JSON.stringify(answer)}`);
  }
  checks.push('Cedar isAuthorized and statefulIsAuthorized → allow');

  // Neighbours: each must be denied by both the Rego (opa-wasm) and the Cedar policy.
  const neighbours: { name: string; tool?: string; path?: string; scope?: string[] }[] = [
    { name: 'path outside /srv/data/', path: '/etc/passwd' },
    { name: "a '..' segment", path: '/srv/data/../etc/passwd' },
    { name: 'tool not in the session scope', tool: 'fs_list', scope: ['fs_read'] },
    { name: 'tool no role of the reader lists', tool: 'fs_write' },
    { name: 'destructive tool without admin', tool: 'fs_delete', scope: ['fs_delete', 'fs_read'] },
  ];
  const base = input as unknown as { request: Record<string, unknown>; session: Record<string, unknown> };
  for (const n of neighbours) {
    const tool = n.tool ?? facts.tool;
    const path = n.path ?? facts.path;
    const scope = n.scope ?? [...facts.sessionScope];
    const variant = {
      ...base,
      request: { ...base.request, tool, arguments: { path } },
      session: { ...base.session, scope },
    } as unknown as PolicyInput;
    const rego = engine.decide(variant).allow;
    const c = cedarRequest(cedar, { ...facts, tool, path, sessionScope: scope });
    const cedarDecisions = [decisionOf(isAuthorized(cedar, c)), decisionOf(statefulIsAuthorized(c))];
    if (rego || cedarDecisions.some((d) => d !== 'deny')) {
      throw new Error(
        `neighbour "${n.name}": Rego allow=${rego}, Cedar ${cedarDecisions.join('/')} — the policies disagree`,
      );
    }
  }
  checks.push(`Rego and Cedar both deny ${neighbours.length} neighbours (${neighbours.map((n) => n.name).join('; ')})`);
  return checks;
}

/** The result as a Markdown table for docs/benchmarks.md. */
export function inProcessMarkdown(r: InProcessCompareResult): string {
  const ref = r.systems.find((s) => s.key === r.reference)!;
  const o = r.options;
  return [
    `| in process, one core (${o.rounds} × ${o.roundMs / 1000} s rounds alternated; ` +
      `same request, ${r.inputBytes}-byte policy input) | decisions/s (median) ` +
      `| µs each (1 / rate) | vs warden \`decide()\` ${o.concurrency} in flight | driven as |`,
    '|---|---:|---:|---:|---|',
    ...r.systems.map(
      (s) =>
        `| ${s.label} | ${fmtInt(s.median)} | ${(1e6 / s.median).toFixed(1)} ` +
        `| ${s === ref ? '1.00×' : `${(s.median / ref.median).toFixed(2)}×`} | ${s.how} |`,
    ),
    '',
    `Per round: ${r.systems.map((s) => `${s.key} ${s.perRound.map(fmtInt).join(', ')}`).join('; ')}.`,
    '',
    `Checks before timing: ${r.checks.join('; ')}.`,
    '',
    "(mcp-warden's full pipeline — token cache, session check + touch, opa-wasm, " +
      `file audit with fdatasync — at ${o.concurrency} in flight runs ` +
      `at ${fmtPct(ref.median / r.systems.find((s) => s.key === 'opa_wasm')!.median)} of ` +
      'the policy evaluation alone.)',
  ].join('\n');
}

if (import.meta.main) {
  const args = parseArgs(process.argv.slice(2));
  const options = { ...(args.quick ? IN_PROCESS_QUICK : IN_PROCESS_FULL), gomaxprocs: args.gomaxprocs };
  const result = await runInProcessCompare(options, (line) => console.log(`  ${line}`));
  console.log(`\n${inProcessMarkdown(result)}`);
}
