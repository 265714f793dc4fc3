import { performance } from 'node:perf_hooks';
import { median } from './stats.ts';

export interface RoundsOptions {
  warmupMs: number;
  rounds: number;
  roundMs: number;
  /** Operations kept in flight at once (1 = sequential awaits). */
  concurrency: number;
}

export interface RoundsResult {
  /** Operations per second, one per round. */
  readonly perRound: readonly number[];
  readonly median: number;
}

/**
 * Runs `op` for a warm-up, then `rounds` timed rounds of `roundMs` each, with
 * `concurrency` loops awaiting it back to back; answers operations/s per round.
 */
export async function measureRounds(op: () => unknown, options: RoundsOptions): Promise<RoundsResult> {
  await runFor(op, options.warmupMs, options.concurrency);
  const perRound: number[] = [];
  for (let i = 0; i < options.rounds; i++) {
    const start = performance.now();
    const count = await runFor(op, options.roundMs, options.concurrency);
    perRound.push((count * 1000) / (performance.now() - start));
  }
  return { perRound, median: median(perRound) };
}

/** Keeps `concurrency` loops calling `op` until `ms` have passed; answers the number of calls. */
export async function runFor(op: () => unknown, ms: number, concurrency: number): Promise<number> {
  const deadline = performance.now() + ms;
  let count = 0;
  const loop = async (): Promise<void> => {
    do {
      await op();
      count += 1;
    } while (performance.now() < deadline);
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return count;
}
