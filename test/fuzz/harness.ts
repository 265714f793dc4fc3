import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';

/**
 * A fuzz target: a fast-check property over a fixture that is opened once per run. The
 * vitest files run each target for a bounded number of cases (`FUZZ_RUNS`); the long run
 * (`node scripts/fuzz.ts --time <s>`) runs the same targets for a time budget.
 */
export interface FuzzTarget {
  readonly name: string;
  /** The invariants the property checks, in one sentence. */
  readonly invariant: string;
  /** Default cases per CI run (multiplied by `FUZZ_SCALE`, overridden by `FUZZ_RUNS`). */
  readonly defaultRuns: number;
  open(): Promise<FuzzSession>;
}

export interface FuzzSession {
  check(parameters: fc.Parameters<unknown>): Promise<fc.RunDetails<unknown>>;
  /** Outcomes seen so far, by a short label (status, reason code, …). */
  readonly outcomes: Map<string, number>;
  /** Checks that span the whole run (the audit trail, the heap, the prototypes); throws on failure. */
  finish(): Promise<string[]>;
  close(): Promise<void>;
}

export interface FuzzResult {
  readonly target: string;
  readonly invariant: string;
  readonly runs: number;
  readonly seconds: number;
  readonly failed: boolean;
  readonly interrupted: boolean;
  readonly seed: number;
  readonly outcomes: Record<string, number>;
  readonly notes: string[];
  readonly report: string | null;
}

/** Counts one outcome label. */
export function count(outcomes: Map<string, number>, label: string): void {
  outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
}

/** Cases per target for a CI run: `FUZZ_RUNS` when set, else the target's default times `FUZZ_SCALE` (1). */
export function boundedRuns(target: FuzzTarget): number {
  const runs = Number(process.env.FUZZ_RUNS);
  if (Number.isInteger(runs) && runs > 0) return runs;
  const scale = Number(process.env.FUZZ_SCALE ?? '1');
  return Math.max(1, Math.round(target.defaultRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/** The seed of a run: `FUZZ_SEED` to replay one, else fresh. */
export function fuzzSeed(): number {
  const seed = Number(process.env.FUZZ_SEED);
  return Number.isInteger(seed) ? seed : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
}

/**
 * Runs a target: `runs` cases, or as many as fit in `seconds` when given. Never throws
 * for a failed property; the result carries fast-check's report (seed and path to replay).
 */
export async function runTarget(
  target: FuzzTarget,
  budget: { runs?: number; seconds?: number; seed?: number },
): Promise<FuzzResult> {
  const seed = budget.seed ?? fuzzSeed();
  const session = await target.open();
  const started = performance.now();
  let details: fc.RunDetails<unknown>;
  const notes: string[] = [];
  let report: string | null = null;
  try {
    details = await session.check({
      seed,
      numRuns: budget.seconds === undefined ? (budget.runs ?? boundedRuns(target)) : Number.MAX_SAFE_INTEGER,
      ...(budget.seconds === undefined
        ? {}
        : { interruptAfterTimeLimit: budget.seconds * 1000, markInterruptAsFailure: false }),
      endOnFailure: true,
    });
    if (details.failed) report = `${String(details.errorInstance)}\n${fc.defaultReportMessage(details) ?? 'failed'}`;
    else {
      // The checks over the whole run (trail, heap, prototypes) fail the run, not the process.
      try {
        notes.push(...(await session.finish()));
      } catch (err) {
        report = `after ${details.numRuns} cases (seed ${seed}): ${String(err)}`;
      }
    }
  } finally {
    await session.close();
  }
  return {
    target: target.name,
    invariant: target.invariant,
    runs: details.numRuns,
    seconds: (performance.now() - started) / 1000,
    failed: report !== null,
    interrupted: details.interrupted,
    seed,
    outcomes: Object.fromEntries([...session.outcomes].sort((a, b) => b[1] - a[1])),
    notes,
    report,
  };
}

let gcFunction: (() => void) | undefined;

/** `global.gc` without `--expose-gc` on the command line (vitest workers do not get it). */
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
  gcFunction();
}

/** Heap in use after a full collection, in bytes. */
export function settledHeap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Own property names of the built-in prototypes a pollution would touch. */
export function prototypeFingerprint(): string {
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype]
    .map((p) => Object.getOwnPropertyNames(p).sort().join(','))
    .join('|');
}
