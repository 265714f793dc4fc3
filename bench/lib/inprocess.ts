import { decide } from '../../src/decision/decide.ts';
import { buildPolicyInput } from '../../src/decision/policy-input.ts';
import { hashSessionId } from '../../src/session/ids.ts';
import { BENCH_CALLER, createBenchCore } from './core.ts';
import { measureRounds, type RoundsOptions } from './rounds.ts';

export interface InProcessOptions {
  warmupMs: number;
  rounds: number;
  roundMs: number;
  concurrency: number;
}

export interface InProcessResult {
  /** Median decisions/s of `decide()`, one in flight. */
  readonly decideSequential: number;
  /** Median decisions/s of `decide()`, `concurrency` in flight. */
  readonly decideConcurrent: number;
  /** Median evaluations/s of `engine.decide(input)` alone. */
  readonly policyAlone: number;
  readonly concurrency: number;
  readonly perRound: Readonly<Record<'decideSequential' | 'decideConcurrent' | 'policyAlone', readonly number[]>>;
}

/** Measures the full pipeline (sequential and concurrent) and the policy evaluation alone. */
export async function runInProcess(
  options: InProcessOptions,
  log: (line: string) => void = () => {},
): Promise<InProcessResult> {
  const core = await createBenchCore();
  try {
    const { deps, request } = core;
    const first = await decide(deps, request, BENCH_CALLER);
    if (!first.allow) throw new Error(`the bench request was denied: ${JSON.stringify(first.reasons)}`);
    const full = () => decide(deps, request, BENCH_CALLER);
    const base: Omit<RoundsOptions, 'concurrency'> = options;

    const sequential = await measureRounds(full, { ...base, concurrency: 1 });
    log(`decide() sequential      ${fmt(sequential.median)} /s  rounds ${sequential.perRound.map(fmt).join(' ')}`);
    const concurrent = await measureRounds(full, { ...base, concurrency: options.concurrency });
    log(
      `decide() ${String(options.concurrency).padEnd(3)} in ` +
        `flight   ${fmt(concurrent.median)} /s  rounds ${concurrent.perRound.map(fmt).join(' ')}`,
    );

    // The same input decide() builds: the verified principal and the live session record.
    const engine = deps.policy.get();
    const principal = await deps.verifier.verify(request.token, request.server);
    const session = await deps.sessions.get(hashSessionId(request.session as string));
    const input = buildPolicyInput({
      mcp: request.mcp,
      principal,
      session: session ?? null,
      server: request.server,
      caller: BENCH_CALLER,
      now: Date.now(),
    });
    if (!engine.decide(input).allow) throw new Error('the policy alone denied the bench input');
    const policy = await measureRounds(() => engine.decide(input), { ...base, concurrency: 1 });
    log(`engine.decide() alone    ${fmt(policy.median)} /s  rounds ${policy.perRound.map(fmt).join(' ')}`);

    return {
      decideSequential: sequential.median,
      decideConcurrent: concurrent.median,
      policyAlone: policy.median,
      concurrency: options.concurrency,
      perRound: {
        decideSequential: sequential.perRound,
        decideConcurrent: concurrent.perRound,
        policyAlone: policy.perRound,
      },
    };
  } finally {
    await core.close();
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(8);
