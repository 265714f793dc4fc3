// What the verifiable log costs: the RFC 6962 Merkle tree ChainSealer keeps besides the
// hash chain, and its checkpoints, against today's hash chain alone — as ratios within one
// run. Also part of `npm run bench` (the last step of bench/compare/run.ts).
//
//   node bench/audit-tree.ts [--records N] [--rounds R] [--round-ms MS] [--seal N]
//
//  1. Sealing, one process, rounds alternated A B C A B C …: N realistic decision records
//     (the one decide() writes, each with its own id and time) sealed by (A) the hash chain
//     alone (bench/audit-tree/reference-sealer.ts: sha256(prev ‖ canonical JSON), what
//     hashRecord does), (B) the real ChainSealer (chain + tree), (C) B plus a checkpoint
//     signed every 1,000 records (loadCheckpointSigner on a temporary key). --seal N records
//     per round (default: --records, at most 100,000).
//  2. A trail of --records N decision records (default 1,000,000) written by the real
//     FileAuditSink (checkpoints every 1,000, appends 1,000 at a time), then, each as a
//     child process: the hash-chain replay alone (bench/audit-tree/replay-chain.ts, the
//     reference), `audit verify --file <trail> --keys <vkeys from audit keys>`, and
//     `audit prove --decision <a decision near the end>`.
//  3. In-process decide(), 64 in flight, rounds alternated: the real file sink (tree +
//     checkpoints, as the service runs it) against the same FileAuditSink whose sealer is
//     the hash chain alone (a bench-only hook, reference-sealer.ts: src has no seam for
//     another sealer), and the null sink (audit off), so the audit's whole share shows too.
//
// Prints the load average before and after, the Node version and a Markdown summary for
// docs/benchmarks.md ("Verifiable log cost"), and writes it as JSON to
// bench/results/audit-tree-latest.json (only with --records of 1,000,000 or more). At the
// defaults, an estimated 3 to 5 minutes on a quiet 2-core machine (not yet timed): most of
// it writing the 1,000,000-record trail and reading it three times.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ChainReplay, ChainSealer, type ChainHead } from '../src/audit/chain.ts';
import { loadCheckpointSigner, type CheckpointSigner } from '../src/audit/checkpoint.ts';
import { createAuditSink } from '../src/audit/create-sink.ts';
import { FileAuditSink } from '../src/audit/file-sink.ts';
import { FileTrail } from '../src/audit/file-trail.ts';
import type { AuditRecord, AuditSink } from '../src/audit/record.ts';
import { verifyTrail } from '../src/audit/verify.ts';
import { auditConfigSchema } from '../src/config/audit.ts';
import { decide } from '../src/decision/decide.ts';
import {
  CHAIN_ONLY_PREFIX,
  chainOnlyChainId,
  HashChainSealer,
  installChainOnlyHook,
} from './audit-tree/reference-sealer.ts';
import { alternateRounds } from './lib/alternate.ts';
import { BENCH_CALLER, createBenchCore } from './lib/core.ts';
import type { NullAuditSink } from './lib/null-sink.ts';
import { median } from './lib/stats.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'src', 'cli.ts');
const REPLAY = fileURLToPath(new URL('./audit-tree/replay-chain.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/audit-tree-latest.json', import.meta.url));
/** Checkpoints in part 1 (C), as the file sink's default `checkpoint_every_records`. */
const CHECKPOINT_EVERY = 1000;
/** Appends awaited together while writing the trail (one group commit, then a checkpoint). */
const TRAIL_BATCH = 1000;
const CONCURRENCY = 64;
/** The issue's aim: decide() with the tree and checkpoints at most this much slower than the chain alone. */
const AIM_SLOWER = 0.1;

const args = parseOptions(process.argv.slice(2));
const log = (line: string) => console.log(`  ${line}`);
const n = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const ratio = (x: number) => `${x.toFixed(3)}×`;
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const loads = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const SEAL_VARIANTS: readonly SealVariant[] = ['chain', 'tree', 'checkpoints'];
const SEAL_LABEL: Record<SealVariant, string> = {
  chain: '(A) hash chain alone: sha256(prev ‖ canonical JSON) (reference)',
  tree: '(B) ChainSealer: hash chain + RFC 6962 tree',
  checkpoints: `(C) B + a checkpoint signed every ${n(CHECKPOINT_EVERY)} records (Ed25519 signed note of size + root)`,
};

const DECIDE_SINKS: readonly DecideSink[] = ['chain', 'tree', 'off'];
const DECIDE_LABEL: Record<DecideSink, string> = {
  chain: "file sink, hash chain alone (today's chain: the same FileAuditSink, sealer without the tree; reference)",
  tree: 'file sink as it is (chain + tree, checkpoints every 1,000 records or 10 s, fdatasync per group commit)',
  off: 'null sink: audit off (append resolves at once, nothing kept)',
};

const startedAt = Date.now();
const loadBefore = loadavg();
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  os: `${platform()} ${release()}`,
};
console.log(
  `Verifiable log cost — ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}; ` +
    `load average (1, 5, 15 min) ${loads()} before`,
);
console.log(
  `records ${n(args.records)} in the trail, ${n(args.seal)} sealed per round, ${args.rounds} rounds, ` +
    `decide() rounds of ${args.roundMs} ms`,
);

const work = mkdtempSync(join(tmpdir(), 'warden-bench-tree-'));
const core = await createBenchCore({ audit: 'off' });
let sealing: SealingResult;
let trail: TrailResult;
let decisions: DecideResult;
try {
  // The record decide() writes (masked input and all): every part seals copies of it.
  const first = await decide(core.deps, core.request, BENCH_CALLER);
  if (!first.allow) throw new Error(`the bench request was denied: ${JSON.stringify(first.reasons)}`);
  const template = (core.deps.audit as NullAuditSink).last;
  if (template === undefined || template.kind !== 'decision') throw new Error('decide() wrote no decision record');
  log(`decision record: ${n(Buffer.byteLength(JSON.stringify(template)))} bytes of JSON before sealing`);

  console.log(`\n1. Sealing ${n(args.seal)} decision records per round, A B C alternated, ${args.rounds} rounds`);
  sealing = await runSealing(template, await loadCheckpointSigner(join(work, 'seal.jwk.json')));

  console.log(`\n2. A trail of ${n(args.records)} decision records, then audit verify and audit prove`);
  trail = await runTrail(template, join(work, 'trail'));

  console.log(`\n3. decide(), ${CONCURRENCY} in flight, per audit sink, alternated, ${args.rounds} rounds`);
  decisions = await runDecide(join(work, 'decide'));
} finally {
  await core.close();
  rmSync(work, { recursive: true, force: true });
}

// ---- summary ---------------------------------------------------------------------------

const loadAfter = loadavg();
const seconds = Math.round((Date.now() - startedAt) / 1000);
const command = `node bench/audit-tree.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
const s = sealing;
const d = decisions;
const t = trail;
const childCell = (c: ChildTiming) =>
  c.ok ? `${c.seconds.toFixed(2)}` : `failed (${c.code === null ? `signal ${c.signal}` : `exit ${c.code}`})`;
const perSecondCell = (c: ChildTiming, records: number) => (c.ok ? n(records / c.seconds) : '—');
const markdown = [
  `**Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}. ` +
    `Load average (1, 5, 15 min) ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ` +
    `${loadAfter.map((x) => x.toFixed(2)).join(' ')} after; ${seconds} s in all ` +
    `(${new Date().toISOString().slice(0, 10)}). \`${command}\``,
  '',
  `| sealing ${n(args.seal)} decision records, one process (${args.rounds} rounds alternated A B C) ` +
    '| records/s (median) | µs each | throughput vs A (ratio of medians) | per-round ratios |',
  '|---|---:|---:|---:|---|',
  ...SEAL_VARIANTS.map(
    (v) =>
      `| ${SEAL_LABEL[v]} | ${n(s.median[v])} | ${(1e6 / s.median[v]).toFixed(2)} ` +
      `| ${v === 'chain' ? '1.000×' : ratio(s.median[v] / s.median.chain)} ` +
      `| ${v === 'chain' ? '—' : s.perRoundRatio[v].map((x) => x.toFixed(3)).join(', ')} |`,
  ),
  '',
  `| \`decide()\`, ${CONCURRENCY} in flight, per audit sink (${args.rounds} × ${args.roundMs / 1000} s alternated) ` +
    '| decisions/s (median) | rounds | throughput vs chain alone | per-round ratios |',
  '|---|---:|---|---:|---|',
  ...DECIDE_SINKS.map(
    (k) =>
      `| ${DECIDE_LABEL[k]} | ${n(d.median[k])} | ${d.perRound[k].map(n).join(', ')} ` +
      `| ${ratio(d.median[k] / d.median.chain)} ` +
      `| ${k === 'chain' ? '—' : d.perRoundRatio[k].map((x) => x.toFixed(3)).join(', ')} |`,
  ),
  '',
  `| a trail of ${n(t.records)} records (${n(t.decisions)} decisions; ${t.files} file(s), ` +
    `${(t.bytes / 2 ** 20).toFixed(1)} MiB; ${n(t.checkpoints)} checkpoints) ` +
    '| seconds | records/s | time vs chain replay |',
  '|---|---:|---:|---:|',
  `| write: FileAuditSink, appends ${n(TRAIL_BATCH)} at a time (seal + tree + fdatasync per batch, ` +
    `a checkpoint every ${n(CHECKPOINT_EVERY)}) | ${t.write_s.toFixed(2)} | ${n(t.records / t.write_s)} | |`,
  `| reference: hash-chain replay alone, child process (FileTrail + ChainReplay; no tree, no checkpoint) ` +
    `| ${childCell(t.replay)} | ${perSecondCell(t.replay, t.records)} | 1.000× |`,
  `| \`audit verify --file <trail> --keys <vkeys>\`, child process (wall; the CLI's own figure ` +
    `${t.verify_own_s === null ? '—' : `${t.verify_own_s.toFixed(2)} s`}) ` +
    `| ${childCell(t.verify)} | ${perSecondCell(t.verify, t.records)} ` +
    `| ${t.verify.ok && t.replay.ok ? ratio(t.verify.seconds / t.replay.seconds) : '—'} |`,
  `| \`audit prove --decision <record ${n(t.probe_seq)}>\`, child process (proof against the ` +
    `checkpoint of size ${t.probe_checkpoint === null ? '—' : n(t.probe_checkpoint)}) ` +
    `| ${childCell(t.prove)} | | ${t.prove.ok && t.replay.ok ? ratio(t.prove.seconds / t.replay.seconds) : '—'} |`,
  '',
  `Aim: \`decide()\` with the tree and checkpoints at most ${pct(AIM_SLOWER)} slower than with the chain alone — ` +
    `measured ${pct(1 - d.median.tree / d.median.chain)} slower (ratio of medians ` +
    `${ratio(d.median.tree / d.median.chain)}; ` +
    `per round ${d.perRoundRatio.tree.map((x) => x.toFixed(3)).join(', ')}): ` +
    `${d.median.tree / d.median.chain >= 1 - AIM_SLOWER ? 'met' : 'not met'}. ` +
    `The audit's whole share (null sink against the real file sink): ${pct(1 - d.median.tree / d.median.off)} of ` +
    'throughput.',
  '',
  `Checks: the reference sealer's hashes equal ChainSealer's for the first ${n(s.checked)} records; ` +
    `allow:false answers during the decide() rounds: ${DECIDE_SINKS.map((k) => `${k} ${d.denied[k]}`).join(', ')} ` +
    '(an audit failure denies, so any would flatter a sink); ' +
    `the tree sink's trail verifies (${n(d.treeRecords)} records, ${n(d.treeCheckpoints)} checkpoints), ` +
    `the chain-only sink's trail replays as one hash chain (${n(d.chainRecords)} records, ` +
    `${n(d.chainCheckpoints)} checkpoints of its head hash); \`audit verify\` said "${t.verify_line}"; ` +
    `\`audit prove\` gave record ${n(t.probe_seq)}'s inclusion proof (${t.probe_proof_hashes} hashes)` +
    `${t.prove.ok ? '' : ` — FAILED: ${t.prove.stderrTail}`}.`,
].join('\n');
console.log(`\n## Verifiable log cost\n\n${markdown}\n`);

const summary = {
  generated_at: new Date().toISOString(),
  command,
  seconds,
  machine: {
    ...machine,
    load_before: loadBefore.map((x) => round(x, 2)),
    load_after: loadAfter.map((x) => round(x, 2)),
  },
  options: args,
  sealing: {
    records_per_round: args.seal,
    checkpoint_every: CHECKPOINT_EVERY,
    per_s: roundAll(s.median),
    per_round: Object.fromEntries(SEAL_VARIANTS.map((v) => [v, s.perRound[v].map((x) => round(x))])),
    tree_over_chain: round(s.median.tree / s.median.chain, 4),
    checkpoints_over_chain: round(s.median.checkpoints / s.median.chain, 4),
  },
  decide: {
    concurrency: CONCURRENCY,
    round_ms: args.roundMs,
    per_s: roundAll(d.median),
    per_round: Object.fromEntries(DECIDE_SINKS.map((k) => [k, d.perRound[k].map((x) => round(x))])),
    tree_over_chain: round(d.median.tree / d.median.chain, 4),
    per_round_tree_over_chain: d.perRoundRatio.tree.map((x) => round(x, 4)),
    tree_over_off: round(d.median.tree / d.median.off, 4),
    denied: d.denied,
    aim: { slower_at_most: AIM_SLOWER, met: d.median.tree / d.median.chain >= 1 - AIM_SLOWER },
  },
  trail: {
    ...t,
    replay: childSummary(t.replay),
    verify: childSummary(t.verify),
    prove: childSummary(t.prove),
  },
};
// A trial at small sizes keeps the last full run's results.
if (args.records >= 1_000_000) {
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`(written to ${RESULTS})`);
} else console.log(`(a trial below 1,000,000 records: ${RESULTS} not written)`);

const denied = DECIDE_SINKS.reduce((sum, k) => sum + d.denied[k], 0);
if (denied > 0 || !t.replay.ok || !t.verify.ok || !t.prove.ok) {
  console.error('\nsome checks failed (see above) — the figures are not valid');
  process.exitCode = 1;
}

// ---- 1. sealing -------------------------------------------------------------------------

type SealVariant = 'chain' | 'tree' | 'checkpoints';
interface SealingResult {
  readonly perRound: Record<SealVariant, number[]>;
  readonly median: Record<SealVariant, number>;
  /** Each round's B/A and C/A (adjacent measurements). */
  readonly perRoundRatio: Record<SealVariant, number[]>;
  readonly checked: number;
}

async function runSealing(template: AuditRecord, signer: CheckpointSigner): Promise<SealingResult> {
  const base = Date.now();
  const records: AuditRecord[] = Array.from({ length: args.seal }, (_, i) => ({
    ...template,
    decision_id: randomUUID(),
    ts: new Date(base + i).toISOString(),
  }));
  // The reference must be the chain ChainSealer computes, record for record.
  const checked = Math.min(records.length, 1000);
  const a = new HashChainSealer('bench-check');
  const b = new ChainSealer('bench-check');
  for (const record of records.slice(0, checked)) {
    const [x, y] = [a.seal(record), b.seal(record)];
    if (x.hash !== y.hash || x.prev !== y.prev || x.seq !== y.seq)
      throw new Error(`the reference sealer's record ${x.seq} differs from ChainSealer's`);
  }
  let signed = 0;
  const variants: Record<SealVariant, () => Promise<ChainHead>> = {
    chain: async () => {
      const sealer = new HashChainSealer(randomUUID());
      for (const record of records) sealer.seal(record);
      return sealer.head;
    },
    tree: async () => {
      const sealer = new ChainSealer(randomUUID());
      for (const record of records) sealer.seal(record);
      return sealer.head;
    },
    checkpoints: async () => {
      const sealer = new ChainSealer(randomUUID());
      for (const record of records) {
        const { chain, seq } = sealer.seal(record);
        if (seq % CHECKPOINT_EVERY === 0) {
          await signer.sign({ chain, size: seq, root: sealer.root() });
          signed += 1;
        }
      }
      return sealer.head;
    },
  };
  for (const v of SEAL_VARIANTS) await variants[v](); // warm-up, untimed
  const perRound: Record<SealVariant, number[]> = { chain: [], tree: [], checkpoints: [] };
  for (let r = 1; r <= args.rounds; r++) {
    for (const v of SEAL_VARIANTS) {
      const start = performance.now();
      const head = await variants[v]();
      const perSecond = (head.seq * 1000) / (performance.now() - start);
      perRound[v].push(perSecond);
      log(`round ${r} ${v.padEnd(11)} ${n(perSecond).padStart(9)} records/s`);
    }
  }
  log(`${n(signed)} checkpoints signed in (C), warm-up included`);
  const med = (v: SealVariant) => median(perRound[v]);
  const over = (v: SealVariant) => perRound[v].map((x, i) => x / (perRound.chain[i] as number));
  return {
    perRound,
    median: { chain: med('chain'), tree: med('tree'), checkpoints: med('checkpoints') },
    perRoundRatio: { chain: over('chain'), tree: over('tree'), checkpoints: over('checkpoints') },
    checked,
  };
}

// ---- 2. a large trail: write, verify, prove ------------------------------------------------

interface ChildTiming {
  readonly ok: boolean;
  readonly code: number | null;
  readonly signal: string | null;
  readonly seconds: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stderrTail: string;
}

interface TrailResult {
  /** Records in the trail: the decisions, the chain's start and close records. */
  readonly records: number;
  readonly decisions: number;
  readonly files: number;
  readonly bytes: number;
  readonly checkpoints: number;
  readonly write_s: number;
  readonly replay: ChildTiming;
  readonly verify: ChildTiming;
  /** What `audit verify` printed as its own time on stderr (without node's start-up). */
  readonly verify_own_s: number | null;
  readonly verify_line: string;
  readonly prove: ChildTiming;
  readonly probe_seq: number;
  readonly probe_checkpoint: number | null;
  readonly probe_proof_hashes: number;
}

async function runTrail(template: AuditRecord, dir: string): Promise<TrailResult> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'audit.jsonl');
  const keyFile = join(dir, 'checkpoint.jwk.json');
  // The embedded default, as the service configures it: checkpoints every 1,000 records or 10 s.
  const { sink } = await createAuditSink(auditConfigSchema.parse({ file, checkpoint_key_file: keyFile }));
  await sink.start();
  const probeIndex = Math.max(0, args.records - 10); // a decision near the end of the trail
  let probeId = '';
  const base = Date.now();
  const writeStart = performance.now();
  for (let from = 0; from < args.records; from += TRAIL_BATCH) {
    const appends: Promise<void>[] = [];
    for (let i = from; i < Math.min(from + TRAIL_BATCH, args.records); i++) {
      const decisionId = randomUUID();
      if (i === probeIndex) probeId = decisionId;
      appends.push(sink.append({ ...template, decision_id: decisionId, ts: new Date(base + i).toISOString() }));
    }
    await Promise.all(appends);
    if ((from + TRAIL_BATCH) % 200_000 === 0)
      log(`${n(from + TRAIL_BATCH)} appended, ${((performance.now() - writeStart) / 1000).toFixed(1)} s`);
  }
  await sink.stop(); // its close record, then the final checkpoint
  const writeS = (performance.now() - writeStart) / 1000;
  const files = new FileTrail(file).files();
  const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
  const checkpoints = lineCount(`${file}.checkpoints`);
  const records = args.records + 2; // audit.chain_started, the decisions, audit.chain_closed
  log(
    `written in ${writeS.toFixed(1)} s: ${n(records)} records, ${files.length} file(s), ` +
      `${(bytes / 2 ** 20).toFixed(1)} MiB, ${n(checkpoints)} checkpoints`,
  );

  // The auditor's side: the verifier key exported by `audit keys`, then the trail given by --file.
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ audit: { file, checkpoint_key_file: keyFile } }));
  const keys = await timeChild([CLI, 'audit', 'keys', '--config', config], dir);
  if (!keys.ok) throw new Error(`audit keys failed: ${keys.stderrTail}`);
  const vkeys = join(dir, 'vkeys.txt');
  writeFileSync(vkeys, keys.stdout);

  const replay = await timeChild([REPLAY, file], dir);
  const replayed = replay.ok ? (JSON.parse(replay.stdout) as { records: number }).records : -1;
  const replayOk = replay.ok && replayed === records;
  log(`chain replay (reference): ${describeChild(replay)}${replayOk ? '' : ` — expected ${records} records`}`);

  const verify = await timeChild([CLI, 'audit', 'verify', '--file', file, '--keys', vkeys], dir);
  const verifyLine = verify.stdout.split('\n')[0] ?? '';
  const verified = /^ok: (\d+) records/.exec(verifyLine);
  const verifyOk = verify.ok && Number(verified?.[1]) === records;
  const own = /verified in ([\d.]+) s/.exec(verify.stderr);
  log(`audit verify: ${describeChild(verify)}; "${verifyLine}"${verifyOk ? '' : ` — expected ${records} records`}`);

  const prove = await timeChild([CLI, 'audit', 'prove', '--file', file, '--keys', vkeys, '--decision', probeId], dir);
  let probeSeq = probeIndex + 2; // after the start record
  let probeCheckpoint: number | null = null;
  let proofHashes = 0;
  let proveOk = false;
  if (prove.ok) {
    const proof = JSON.parse(prove.stdout) as {
      record: { decision_id: string; seq: number };
      proof: { checkpoint: string; inclusion: { index: number; proof: string[] }[] };
    };
    const inclusion = proof.proof.inclusion[0];
    probeSeq = proof.record.seq;
    probeCheckpoint = Number(proof.proof.checkpoint.split('\n')[1]);
    proofHashes = inclusion?.proof.length ?? 0;
    proveOk = proof.record.decision_id === probeId && inclusion?.index === proof.record.seq - 1;
  }
  log(`audit prove: ${describeChild(prove)}; record ${n(probeSeq)}, ${proofHashes} hashes`);
  const failed = (c: ChildTiming, why: string): ChildTiming => ({ ...c, ok: false, stderrTail: c.stderrTail || why });
  return {
    records,
    decisions: args.records,
    files: files.length,
    bytes,
    checkpoints,
    write_s: round(writeS, 3),
    replay: replayOk ? replay : failed(replay, `replayed ${replayed} records, not ${records}`),
    verify: verifyOk ? verify : failed(verify, `verify said "${verifyLine}", not ${records} records`),
    verify_own_s: own === null ? null : Number(own[1]),
    verify_line: verifyLine,
    prove: proveOk ? prove : failed(prove, 'the proof is not of the probed decision'),
    probe_seq: probeSeq,
    probe_checkpoint: probeCheckpoint,
    probe_proof_hashes: proofHashes,
  };
}

/** Runs `node <args>` in `cwd`, without MCP_WARDEN_* in its environment, and times it to its exit. */
async function timeChild(nodeArgs: readonly string[], cwd: string): Promise<ChildTiming> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MCP_WARDEN_')));
  const start = performance.now();
  const child = spawn(process.execPath, nodeArgs, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  });
  const seconds = (performance.now() - start) / 1000;
  const stderr = Buffer.concat(err).toString('utf8');
  return {
    ok: code === 0,
    code,
    signal,
    seconds,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr,
    stderrTail: stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 400),
  };
}

function describeChild(c: ChildTiming): string {
  const status = c.ok ? '' : ` FAILED (${c.code === null ? `signal ${c.signal}` : `exit ${c.code}`}: ${c.stderrTail})`;
  return `${c.seconds.toFixed(2)} s${status}`;
}

function childSummary(c: ChildTiming) {
  return { ok: c.ok, code: c.code, signal: c.signal, seconds: round(c.seconds, 3), stderr_tail: c.stderrTail };
}

// ---- 3. decide() per sink -----------------------------------------------------------------

type DecideSink = 'chain' | 'tree' | 'off';
interface DecideResult {
  readonly perRound: Record<DecideSink, number[]>;
  readonly median: Record<DecideSink, number>;
  /** Each round's x / chain (adjacent measurements). */
  readonly perRoundRatio: Record<DecideSink, number[]>;
  readonly denied: Record<DecideSink, number>;
  readonly treeRecords: number;
  readonly treeCheckpoints: number;
  readonly chainRecords: number;
  readonly chainCheckpoints: number;
}

async function runDecide(dir: string): Promise<DecideResult> {
  installChainOnlyHook(); // only now: parts 1 and 2 ran the sealer untouched
  const config = auditConfigSchema.parse({ file: join(dir, 'tree.jsonl'), checkpoint_key_file: join(dir, 'tree.jwk') });
  const { sink: tree, signer } = await createAuditSink(config);
  const chainPath = join(dir, 'chain.jsonl');
  const chain = new FileAuditSink({
    path: chainPath,
    signer: await loadCheckpointSigner(join(dir, 'chain.jwk'), config.log_name),
    checkpointEveryRecords: config.checkpoint_every_records,
    checkpointEveryMs: config.checkpoint_every_seconds * 1000,
    maxFileBytes: config.max_file_bytes,
    chain: chainOnlyChainId(),
  });
  const sinks: Record<DecideSink, AuditSink> = { chain, tree, off: core.deps.audit };
  const denied: Record<DecideSink, number> = { chain: 0, tree: 0, off: 0 };
  try {
    await tree.start();
    await chain.start();
    const targets: Record<string, () => Promise<void>> = {};
    for (const k of DECIDE_SINKS) {
      // The same core (token cache, session, policy) for every sink; only the audit differs.
      const deps = { ...core.deps, audit: sinks[k] };
      const first = await decide(deps, core.request, BENCH_CALLER);
      if (!first.allow)
        throw new Error(`the bench request was denied with sink ${k}: ${JSON.stringify(first.reasons)}`);
      targets[k] = async () => {
        if (!(await decide(deps, core.request, BENCH_CALLER)).allow) denied[k] += 1;
      };
    }
    const warmupMs = Math.min(1000, args.roundMs);
    const result = await alternateRounds(
      targets,
      { warmupMs, rounds: args.rounds, roundMs: args.roundMs, concurrency: CONCURRENCY },
      (k, r, perSecond) => log(`round ${r} ${k.padEnd(6)} ${n(perSecond).padStart(8)} /s`),
    );
    await tree.stop();
    await chain.stop();
    // The sink with the tree wrote a trail that verifies; the reference, one valid hash chain of its own id.
    const verdict = await verifyTrail(new FileTrail(join(dir, 'tree.jsonl')), [signer.verifier]);
    if (!verdict.ok) throw new Error(`the tree sink's trail does not verify: ${JSON.stringify(verdict)}`);
    const replay = new ChainReplay();
    let chainRecords = 0;
    for await (const record of new FileTrail(chainPath).records()) {
      const problem = replay.next(record);
      if (problem !== null) throw new Error(`the chain-only trail is broken: ${JSON.stringify(problem)}`);
      chainRecords += 1;
    }
    const heads = replay.heads;
    if (heads.length !== 1 || !heads[0]!.chain.startsWith(CHAIN_ONLY_PREFIX))
      throw new Error(`the chain-only trail holds chains ${heads.map((h) => h.chain).join(', ')}`);
    const perRound = result.perRound as Record<DecideSink, number[]>;
    const over = (k: DecideSink) => perRound[k].map((x, i) => x / (perRound.chain[i] as number));
    return {
      perRound,
      median: result.median as Record<DecideSink, number>,
      perRoundRatio: { chain: over('chain'), tree: over('tree'), off: over('off') },
      denied,
      treeRecords: verdict.records,
      treeCheckpoints: verdict.checkpoints,
      chainRecords,
      chainCheckpoints: lineCount(`${chainPath}.checkpoints`),
    };
  } finally {
    await tree.stop().catch(() => undefined);
    await chain.stop().catch(() => undefined);
  }
}

// ---- helpers --------------------------------------------------------------------------------

interface Options {
  readonly records: number;
  readonly rounds: number;
  readonly roundMs: number;
  readonly seal: number;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      records: { type: 'string' },
      rounds: { type: 'string' },
      'round-ms': { type: 'string' },
      seal: { type: 'string' },
    },
    strict: true,
  });
  const int = (name: string, value: string | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    const x = Number(value.replaceAll('_', ''));
    if (!Number.isSafeInteger(x) || x < min) throw new Error(`--${name} needs an integer ≥ ${min}, not ${value}`);
    return x;
  };
  const records = int('records', values.records, 1_000_000, 20);
  return {
    records,
    rounds: int('rounds', values.rounds, 5, 1),
    roundMs: int('round-ms', values['round-ms'], 2000, 50),
    seal: int('seal', values.seal, Math.min(records, 100_000), CHECKPOINT_EVERY),
  };
}

function lineCount(file: string): number {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '').length;
  } catch {
    return 0;
  }
}

function roundAll<K extends string>(values: Record<K, number>): Record<K, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round(v as number)])) as Record<K, number>;
}
