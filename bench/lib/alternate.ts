import { performance } from 'node:perf_hooks';
import { runFor } from './rounds.ts';
import { median } from './stats.ts';

export interface AlternateOptions {
  /** Warm-up of each target, one after another, before the first timed round. */
  warmupMs: number;
  /** Timed rounds per target. */
  rounds: number;
  roundMs: number;
  /** Operations kept in flight at once. */
  concurrency: number;
}

export interface AlternateResult {
  /** Operations per second of each target, one per round, in round order. */
  readonly perRound: Readonly<Record<string, readonly number[]>>;
  readonly median: Readonly<Record<string, number>>;
}

/**
 * Like {@link measureRounds} (bench/lib/rounds.ts) for several targets at once, with their
 * rounds alternated (A B C A B C …) so that a drift of the machine (other load, thermal,
 * a growing file or table) falls on every target alike rather than on the last one measured.
 */
export async function alternateRounds(
  targets: Readonly<Record<string, () => unknown>>,
  options: AlternateOptions,
  onRound: (name: string, round: number, perSecond: number) => void = () => {},
): Promise<AlternateResult> {
  const names = Object.keys(targets);
  for (const name of names) await runFor(targets[name]!, options.warmupMs, options.concurrency);
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 1; round <= options.rounds; round++) {
    for (const name of names) {
      const start = performance.now();
      const count = await runFor(targets[name]!, options.roundMs, options.concurrency);
      const perSecond = (count * 1000) / (performance.now() - start);
      perRound[name]!.push(perSecond);
      onRound(name, round, perSecond);
    }
  }
  return { perRound, median: Object.fromEntries(names.map((n) => [n, median(perRound[n]!)])) };
}
