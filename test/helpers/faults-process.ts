import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decideMix,
  devConfig,
  devToken,
  fileTrail,
  judge,
  PHASES,
  startLoad,
  startWarden,
  verifyTrailCli,
  type Answer,
  type Phases,
  type ScenarioResult,
  type Warden,
} from './faults-harness.ts';

/** Workers of the load: enough that some requests are always in flight at the signal. */
const CONCURRENCY = 16;

/**
 * SIGTERM under load, then a restart on the same files. To the spec of graceful
 * shutdown (docs/operations.md): requests in flight finish with their answer, new ones
 * are refused (503 `shutting_down` on an open connection, or connection refused), the
 * audit is flushed and a final checkpoint signed, and the process exits 0.
 */
export async function sigtermUnderLoad(phases: Phases = PHASES): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-fault-term-'));
  const config = devConfig(dir);
  let w: Warden = await startWarden({ dir, config });
  try {
    const token = await devToken(w.url);
    const load = startLoad(() => w.url, decideMix(token), CONCURRENCY);
    await sleep(phases.beforeMs);
    const tSig = performance.now();
    const code = await w.stop();
    const tExit = performance.now();
    await sleep(Math.min(phases.faultMs, 500));
    const restartBegin = performance.now();
    w = await startWarden({ dir, config });
    await sleep(phases.afterMs);
    const answers = await load.stop();
    await w.stop();
    const verdict = await verifyTrailCli(dir);
    const before = answers.filter((a) => a.t0 < tSig);
    const inFlight = before.filter((a) => a.t1 > tSig);
    const afterExit = answers.filter((a) => a.t0 > tExit && a.t1 < restartBegin);
    const refused = (a: Answer) => (a.status === 503 && a.code === 'shutting_down') || a.error !== null;
    const checkpoints = Number(/(\d+) signed checkpoint/.exec(verdict.output)?.[1] ?? 0);
    return judge({
      name: 'SIGTERM under load (then restart)',
      expectation:
        'requests in flight at the signal finish with their answer and are in the trail; ' +
        'new requests are refused (503 shutting_down or connection refused); the audit is ' +
        'flushed with a final checkpoint and the process exits 0; the restarted service answers',
      answers,
      judgement: {
        faultStart: tSig,
        faultEnd: restartBegin,
        expected: (a) => a.t0 >= tSig && refused(a),
        trail: fileTrail(join(dir, 'audit.jsonl')),
        recoveredBy: 'restart',
      },
      checks: {
        [`every request sent before the signal got its answer (${before.length}, ${inFlight.length} in flight)`]:
          before.every((a) => a.status === 200),
        [`requests after the exit refused (${afterExit.length})`]: afterExit.every(refused),
        'exit code 0': code === 0,
        'a checkpoint per run (final one at the stop)': checkpoints >= 2,
        'audit verify passes afterwards': verdict.ok,
      },
      notes: [
        `in flight at SIGTERM: ${inFlight.length}`,
        `shutdown took ${Math.round(tExit - tSig)} ms`,
        `audit verify: ${verdict.output.split('\n').at(-1)}`,
      ],
    });
  } finally {
    await w.kill9();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * kill -9 under load, then a restart on the same files (test/e2e/crash.test.ts checks the
 * torn-line recovery on its own; this measures the same crash for the table).
 */
export async function kill9UnderLoad(phases: Phases = PHASES): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-fault-kill-'));
  const config = devConfig(dir);
  let w: Warden = await startWarden({ dir, config });
  try {
    const token = await devToken(w.url);
    const load = startLoad(() => w.url, decideMix(token), CONCURRENCY);
    await sleep(phases.beforeMs);
    const tKill = performance.now();
    await w.kill9();
    await sleep(Math.min(phases.faultMs, 500));
    const restartBegin = performance.now();
    w = await startWarden({ dir, config });
    await sleep(phases.afterMs);
    const answers = await load.stop();
    await w.stop();
    const verdict = await verifyTrailCli(dir);
    return judge({
      name: 'kill -9 under load (then restart)',
      expectation:
        'every decision answered before the kill is in the trail (a record is on disk before its answer); ' +
        'a line torn by the kill is cut and recorded at restart; ' +
        'the trail verifies; the restarted service answers',
      answers,
      judgement: {
        faultStart: tKill,
        faultEnd: restartBegin,
        expected: (a) => a.error !== null && a.t1 >= tKill,
        trail: fileTrail(join(dir, 'audit.jsonl')),
        recoveredBy: 'restart',
      },
      checks: { 'audit verify passes after the restart': verdict.ok },
      notes: [`audit verify: ${verdict.output.split('\n').at(-1)}`],
    });
  } finally {
    await w.kill9();
    rmSync(dir, { recursive: true, force: true });
  }
}
