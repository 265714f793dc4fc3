// `npm run bench` (last part): what the audit trail costs. About 2 minutes.
//  1. In-process decide() decisions/s, 64 in flight, with audit off (a sink that accepts at
//     once), the file sink (the embedded default) and the PostgreSQL sink (a cluster of our
//     own), rounds alternated A B C A B C …; the cost of each sink as a share of throughput.
//  2. A 1,000,000-record JSONL trail written by the file sink, then `verifyTrail` over it.
// Prints a Markdown summary for docs/benchmarks.md and writes it as JSON to
// bench/results/audit-latest.json. The sinks are used as they are: whatever the file sink
// does to make a record durable (fdatasync group commit) is part of the measured cost.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createAuditSink } from '../src/audit/create-sink.ts';
import type { AuditRecord } from '../src/audit/record.ts';
import { verifyTrail } from '../src/audit/verify.ts';
import { auditConfigSchema } from '../src/config/audit.ts';
import { decide } from '../src/decision/decide.ts';
import { startPostgresServer, type PostgresServer } from '../test/helpers/postgres.ts';
import { alternateRounds } from './lib/alternate.ts';
import { BENCH_CALLER, createBenchCore, type BenchCore } from './lib/core.ts';
import type { NullAuditSink } from './lib/null-sink.ts';

const ROUNDS = { warmupMs: 1000, rounds: 5, roundMs: 2000, concurrency: 64 };
const TRAIL = { records: 1_000_000, batch: 1000 };
/** The aim of docs/benchmarks.md: the file sink may cost at most this share of throughput. */
const AIM_FILE_COST = 0.25;
const RESULTS = fileURLToPath(new URL('./results/audit-latest.json', import.meta.url));

const SINKS = ['off', 'file', 'postgres'] as const;
type SinkName = (typeof SINKS)[number];
const LABEL: Record<SinkName, string> = {
  off: 'audit off (append resolves at once, nothing kept)',
  file: 'file sink (embedded default, JSONL + checkpoints)',
  postgres: 'PostgreSQL sink (own local cluster)',
};

const log = (line: string) => console.log(`  ${line}`);
const n = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const loadBefore = loadavg()[0] ?? 0;

// ---- 1. decide() throughput per sink ------------------------------------------------

console.log(
  `In-process decide() per audit sink — ${ROUNDS.concurrency} in flight, ${ROUNDS.rounds} rounds ` +
    `× ${ROUNDS.roundMs / 1000} s per sink after a ${ROUNDS.warmupMs / 1000} s warm-up each, alternated`,
);
let pgServer: PostgresServer | undefined;
const cores: Partial<Record<SinkName, BenchCore>> = {};
let template: AuditRecord;
let throughput: Awaited<ReturnType<typeof alternateRounds>>;
const denied: Record<SinkName, number> = { off: 0, file: 0, postgres: 0 };
try {
  const pgStart = performance.now();
  pgServer = await startPostgresServer();
  log(`PostgreSQL cluster up on port ${pgServer.port} in ${((performance.now() - pgStart) / 1000).toFixed(1)} s`);
  for (const sink of SINKS) cores[sink] = await createBenchCore({ audit: sink, postgresUrl: pgServer.url });
  const targets: Record<string, () => Promise<void>> = {};
  for (const sink of SINKS) {
    const { deps, request } = cores[sink]!;
    const first = await decide(deps, request, BENCH_CALLER);
    if (!first.allow)
      throw new Error(`the bench request was denied with audit ${sink}: ${JSON.stringify(first.reasons)}`);
    // A decision whose audit failed is a (fast) deny: count them, they would flatter the figure.
    targets[sink] = async () => {
      if (!(await decide(deps, request, BENCH_CALLER)).allow) denied[sink] += 1;
    };
  }
  const captured = (cores.off!.deps.audit as NullAuditSink).last;
  if (captured === undefined) throw new Error('the null sink saw no record');
  template = captured;
  throughput = await alternateRounds(targets, ROUNDS, (sink, r, perSecond) =>
    log(`round ${r} ${sink.padEnd(8)} ${n(perSecond).padStart(8)} /s`),
  );
} finally {
  for (const sink of SINKS) await cores[sink]?.close();
  await pgServer?.stop();
}
const perS = throughput.median as Record<SinkName, number>;
const cost = (sink: SinkName) => (perS.off - perS[sink]) / perS.off;
const aimMet = cost('file') <= AIM_FILE_COST;

// ---- 2. a 1,000,000-record trail: write, then verify --------------------------------

console.log(
  `\nFile trail — ${n(TRAIL.records)} decision records appended ${n(TRAIL.batch)} at a time, then verifyTrail()`,
);
const dir = mkdtempSync(join(tmpdir(), 'warden-bench-trail-'));
let trail: {
  records: number;
  write_s: number;
  write_per_s: number;
  verify_s: number;
  verify_per_s: number;
  files: number;
  bytes: number;
  checkpoints: number;
  checkpoint_bytes: number;
  record_bytes_avg: number;
};
try {
  const file = join(dir, 'audit.jsonl');
  const { sink, signer } = await createAuditSink(
    auditConfigSchema.parse({ file, checkpoint_key_file: join(dir, 'checkpoint.jwk.json') }),
  );
  await sink.start();
  // The record decide() wrote in part 1 (masked input and all), each with its own id and time.
  const base = Date.now();
  const writeStart = performance.now();
  for (let from = 0; from < TRAIL.records; from += TRAIL.batch) {
    const appends: Promise<void>[] = [];
    for (let i = from; i < Math.min(from + TRAIL.batch, TRAIL.records); i++) {
      appends.push(sink.append({ ...template, decision_id: randomUUID(), ts: new Date(base + i).toISOString() }));
    }
    await Promise.all(appends);
    if ((from + TRAIL.batch) % 200_000 === 0)
      log(`${n(from + TRAIL.batch)} appended, ${((performance.now() - writeStart) / 1000).toFixed(1)} s`);
  }
  await sink.stop(); // drains and signs the final checkpoint
  const writeS = (performance.now() - writeStart) / 1000;
  const files = readdirSync(dir)
    .filter((f) => f === basename(file) || /^audit\.jsonl\.\d+$/.test(f))
    .map((f) => join(dir, f));
  const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
  const checkpointFile = `${file}.checkpoints`;
  log(`written in ${writeS.toFixed(1)} s; ${files.length} file(s), ${(bytes / 2 ** 20).toFixed(1)} MiB`);

  const verifyStart = performance.now();
  const verdict = await verifyTrail(sink, [signer.verifier]);
  const verifyS = (performance.now() - verifyStart) / 1000;
  if (!verdict.ok) throw new Error(`the trail did not verify: ${JSON.stringify(verdict)}`);
  if (verdict.records !== TRAIL.records)
    throw new Error(`verifyTrail counted ${verdict.records} records, not ${TRAIL.records}`);
  log(
    `verified in ${verifyS.toFixed(1)} s: ${n(verdict.records)} records, ` +
      `${verdict.chains} chain, ${n(verdict.checkpoints)} checkpoints`,
  );
  trail = {
    records: verdict.records,
    write_s: round(writeS, 2),
    write_per_s: round(TRAIL.records / writeS),
    verify_s: round(verifyS, 2),
    verify_per_s: round(verdict.records / verifyS),
    files: files.length,
    bytes,
    checkpoints: verdict.checkpoints,
    checkpoint_bytes: existsSync(checkpointFile) ? statSync(checkpointFile).size : 0,
    record_bytes_avg: round(bytes / verdict.records),
  };
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// ---- summary --------------------------------------------------------------------------

const summary = {
  generated_at: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    os: `${platform()} ${release()}`,
    load_1m_before: round(loadBefore, 2),
  },
  decide: {
    concurrency: ROUNDS.concurrency,
    rounds: ROUNDS.rounds,
    round_ms: ROUNDS.roundMs,
    warmup_ms: ROUNDS.warmupMs,
    per_s: Object.fromEntries(SINKS.map((s) => [s, round(perS[s])])),
    per_round: Object.fromEntries(SINKS.map((s) => [s, throughput.perRound[s]!.map((x) => round(x))])),
    cost_share: { file: round(cost('file'), 4), postgres: round(cost('postgres'), 4) },
    /** Decisions answered allow:false during the rounds (must be 0: an audit failure denies). */
    denied,
    postgres_server: 'local cluster of test/helpers/postgres.ts: fsync=off, full_page_writes=off, same machine',
  },
  aims: [
    {
      aim: 'file audit costs ≤ 25 % of in-process decide() throughput',
      target: AIM_FILE_COST,
      measured: round(cost('file'), 4),
      met: aimMet,
    },
  ],
  trail,
};

const markdown = [
  `**Machine:** ${summary.machine.cpu}, ${summary.machine.cores} cores, ` +
    `Node ${summary.machine.node}, ${summary.machine.os}, ` +
    `load average ${summary.machine.load_1m_before} before the run (${summary.generated_at.slice(0, 10)})`,
  '',
  `| In-process \`decide()\`, ${ROUNDS.concurrency} in flight, per audit sink (warm ` +
    `token cache, default bundle, live session; ${ROUNDS.rounds} × ${ROUNDS.roundMs / 1000} s ` +
    'alternated) | decisions/s (median) | rounds | cost: (off − x) / off |',
  '|---|---:|---|---:|',
  ...SINKS.map(
    (s) =>
      `| ${LABEL[s]} | ${n(perS[s])} | ${throughput.perRound[s]!.map(n).join(', ')} ` +
      `| ${s === 'off' ? '—' : pct(cost(s))} |`,
  ),
  '',
  '| Aim | Target | Measured | Met |',
  '|---|---:|---:|:---:|',
  `| ${summary.aims[0]!.aim} | ≤ ${pct(AIM_FILE_COST)} | ${pct(cost('file'))} | ${aimMet ? 'yes' : 'no'} |`,
  '',
  `| File trail (JSONL, appends ${n(TRAIL.batch)} at a time, ` +
    'final checkpoint at stop) | records | seconds | records/s | size |',
  '|---|---:|---:|---:|---:|',
  `| write (seal + append + fdatasync per batch) | ${n(trail.records)} ` +
    `| ${trail.write_s.toFixed(1)} | ${n(trail.write_per_s)} ` +
    `| ${(trail.bytes / 2 ** 20).toFixed(1)} MiB in ${trail.files} file(s), ${trail.record_bytes_avg} B/record |`,
  `| \`verifyTrail(sink, [signer.verifier])\` (${n(trail.checkpoints)} signed ` +
    `checkpoints) | ${n(trail.records)} | ${trail.verify_s.toFixed(1)} ` +
    `| ${n(trail.verify_per_s)} | ${n(trail.checkpoint_bytes / 1024)} KiB of checkpoints |`,
  '',
  `Checks — allow:false answers during the rounds: off ${denied.off}, file ${denied.file}, ` +
    `postgres ${denied.postgres} (an audit failure denies, so any would flatter a sink). ` +
    "The PostgreSQL cluster is the test helper's: on this machine, sharing its cores, " +
    'with fsync=off and full_page_writes=off — its figure is an upper bound for a durable server.',
].join('\n');

console.log(`\n## Summary\n\n${markdown}\n`);
mkdirSync(dirname(RESULTS), { recursive: true });
writeFileSync(RESULTS, `${JSON.stringify(summary, null, 2)}\n`);
console.log(`(written to ${RESULTS})`);

const deniedTotal = denied.off + denied.file + denied.postgres;
if (deniedTotal > 0) {
  console.error(`\n${deniedTotal} decisions were denied during the rounds — the figures are not valid`);
  process.exitCode = 1;
}
