import { expect, it } from 'vitest';
import { runTarget, type FuzzTarget } from './harness.ts';

/** One vitest case per target: a bounded run (`FUZZ_RUNS`, `FUZZ_SCALE`, `FUZZ_SEED`), its counts printed. */
export function fuzzTest(target: FuzzTarget): void {
  it(`fuzz: ${target.name}: ${target.invariant}`, { timeout: 180_000 }, async () => {
    const result = await runTarget(target, {});
    console.log(
      `[fuzz] ${result.target}: ${result.runs} cases in ${result.seconds.toFixed(1)} s (seed ${result.seed})` +
        `${result.notes.length > 0 ? `; ${result.notes.join('; ')}` : ''}\n  outcomes ` +
        `${JSON.stringify(result.outcomes)}`,
    );
    expect(result.report).toBeNull();
  });
}
