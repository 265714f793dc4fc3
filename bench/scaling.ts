// How the cost of a decision scales (issue 8), in one run, three parts:
//  1. the size of the tool catalogue (10 → 1,000 tools), the default Rego unchanged:
//     the policy evaluation alone and the full decide(), for a tools/call and a tools/list;
//  2. the number of live sessions (1k → 1M) in the memory store and in Redis: decide()
//     throughput and latency for a session picked at random, and the memory they take;
//  3. the audit trail: decide() with the file sink, the PostgreSQL sink and audit off.
// Each part prints a Markdown table and mermaid `xychart-beta` chart blocks for docs/benchmarks.md.
//
//   node --expose-gc bench/scaling.ts           about 5–7 min; writes bench/scaling/results-latest.{json,md}
//   node --expose-gc bench/scaling.ts --quick   under 1 min, smaller sizes, short rounds; nothing written
//
// Parts 1 and 2 write audit records to the null sink (bench/lib/null-sink.ts): what is
// measured there is the policy and the session store, not the audit trail (part 3).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { decide } from '../src/decision/decide.ts';
import type { CoreDeps } from '../src/decision/deps.ts';
import { buildPolicyInput } from '../src/decision/policy-input.ts';
import { createSession } from '../src/decision/sessions.ts';
import type { DecideRequest } from '../src/decision/types.ts';
import { ActivePolicy } from '../src/policy/active.ts';
import { readBundleFile } from '../src/policy/bundle.ts';
import { loadPolicyEngine, type PolicyEngine, type PolicyInput } from '../src/policy/engine.ts';
import { hashSessionId } from '../src/session/ids.ts';
import { MemorySessionStore } from '../src/session/memory-store.ts';
import type { SessionRecord } from '../src/session/record.ts';
import { RedisSessionStore } from '../src/session/redis-store.ts';
import { startPostgresServer, type PostgresServer } from '../test/helpers/postgres.ts';
import { startRedisServer } from '../test/helpers/redis.ts';
import { alternateRounds, type AlternateResult } from './lib/alternate.ts';
import { BENCH_CALLER, createBenchCore, type BenchCore } from './lib/core.ts';
import { BENCH_SERVER } from './lib/issuer.ts';
import { toolCallRequest } from './lib/request.ts';
import { buildCatalogueBundle, scaledCatalogue } from './scaling/catalogue.ts';
import { barChart, MB, n0, n1, pct, percentile, round, table, times } from './scaling/report.ts';
import { fillMemory, fillStore, sessionId } from './scaling/sessions.ts';

const { values: opts } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const QUICK = opts.quick;
const CONCURRENCY = 64;
const RETAIN_MS = 3_600_000;

const CONFIG = QUICK
  ? {
      catalogueSizes: [10, 100, 1_000],
      catalogueRounds: { warmupMs: 200, rounds: 2, roundMs: 300 },
      memorySizes: [1_000, 10_000, 100_000],
      redisSizes: [1_000, 10_000],
      sessionRounds: { warmupMs: 200, rounds: 2, roundMs: 300 },
      sessionLatency: { rounds: 1, roundMs: 300 },
      auditRounds: { warmupMs: 300, rounds: 2, roundMs: 500 },
      auditLatency: { rounds: 1, roundMs: 400 },
      redisFillBudgetS: 10,
    }
  : {
      catalogueSizes: [10, 100, 1_000],
      catalogueRounds: { warmupMs: 500, rounds: 5, roundMs: 1_000 },
      memorySizes: [1_000, 10_000, 100_000, 1_000_000],
      redisSizes: [1_000, 10_000, 100_000, 1_000_000],
      sessionRounds: { warmupMs: 500, rounds: 5, roundMs: 1_000 },
      sessionLatency: { rounds: 3, roundMs: 1_000 },
      auditRounds: { warmupMs: 1_000, rounds: 5, roundMs: 2_000 },
      auditLatency: { rounds: 3, roundMs: 1_000 },
      /** Filling Redis with 1M sessions is skipped when the rate of the 100k fill says it would take longer. */
      redisFillBudgetS: 150,
    };
const RESULTS_JSON = fileURLToPath(new URL('./scaling/results-latest.json', import.meta.url));
const RESULTS_MD = fileURLToPath(new URL('./scaling/results-latest.md', import.meta.url));

const log = (line: string) => console.log(`  ${line}`);
const runStart = performance.now();
const elapsed = () => `${((performance.now() - runStart) / 1000).toFixed(0)} s`;
const sizeLabel = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : String(n));
const notes: string[] = [];
/** Decisions answered allow:false during timed rounds, per target: must stay 0 (a deny is a fast path). */
const denied: Record<string, number> = {};

function settle(): void {
  globalThis.gc?.();
  globalThis.gc?.();
}

/** An allowed decide() for `pick()`'s request, counting any deny against `name`. */
function decideOp(name: string, deps: CoreDeps, pick: () => DecideRequest): () => Promise<void> {
  denied[name] ??= 0;
  return async () => {
    if (!(await decide(deps, pick(), BENCH_CALLER)).allow) denied[name]! += 1;
  };
}

/** Sequential rounds, alternated, recording each operation's latency (µs); run after a warm-up. */
async function latencies(
  targets: Record<string, () => unknown>,
  options: { rounds: number; roundMs: number },
): Promise<Record<string, { p50: number; p99: number; count: number }>> {
  const samples: Record<string, number[]> = {};
  const timed: Record<string, () => Promise<void>> = {};
  for (const [name, op] of Object.entries(targets)) {
    const list: number[] = [];
    samples[name] = list;
    timed[name] = async () => {
      const t0 = performance.now();
      await op();
      list.push((performance.now() - t0) * 1000);
    };
  }
  await alternateRounds(timed, { warmupMs: 0, rounds: options.rounds, roundMs: options.roundMs, concurrency: 1 });
  return Object.fromEntries(
    Object.entries(samples).map(([name, list]) => [
      name,
      { p50: percentile(list, 0.5), p99: percentile(list, 0.99), count: list.length },
    ]),
  );
}

const roundLog = (what: string) => (name: string, r: number, perSecond: number) =>
  log(`${what} round ${r} ${name.padEnd(14)} ${n0(perSecond).padStart(9)} /s`);

// ---- machine ------------------------------------------------------------------------

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  os: `${platform()} ${release()}`,
  memory_gb: round(totalmem() / 2 ** 30, 1),
  free_gb: round(freemem() / 2 ** 30, 1),
  load_before: loadavg().map((x) => round(x, 2)),
  gc_exposed: globalThis.gc !== undefined,
};
console.log(`mcp-warden scaling benchmark (${QUICK ? 'quick' : 'full'} run), ${new Date().toISOString()}`);
console.log(
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb} GiB ` +
    `(${machine.free_gb} free), Node ${machine.node}, ${machine.os}`,
);
console.log(`Load average before the run (1, 5, 15 min): ${machine.load_before.join(', ')}`);
if (!machine.gc_exposed) console.log('(run with node --expose-gc: without it the memory figures include garbage)');

// ---- 1. catalogue size ---------------------------------------------------------------

interface CatalogueVariant {
  readonly size: number;
  readonly readerTools: number;
  readonly dataBytes: number;
  readonly bundleBytes: number;
  readonly buildSeconds: number;
  readonly callInputBytes: number;
  readonly listInputBytes: number;
  readonly visible: number;
  readonly engine: PolicyEngine;
  readonly deps: CoreDeps;
  readonly call: DecideRequest;
  readonly list: DecideRequest;
  readonly callInput: PolicyInput;
  readonly listInput: PolicyInput;
}

const CATALOGUE_GROUPS = [
  { key: 'policy_call', what: '`engine.decide(input)` alone, tools/call', concurrency: 1 },
  { key: 'policy_list', what: '`engine.decide(input)` alone, tools/list', concurrency: 1 },
  { key: 'decide_call', what: `\`decide()\`, ${CONCURRENCY} in flight, tools/call`, concurrency: CONCURRENCY },
  { key: 'decide_list', what: `\`decide()\`, ${CONCURRENCY} in flight, tools/list`, concurrency: CONCURRENCY },
] as const;
type CatalogueKey = (typeof CATALOGUE_GROUPS)[number]['key'];

async function catalogueVariant(core: BenchCore, size: number, dir: string): Promise<CatalogueVariant> {
  const token = core.request.token!;
  const catalogue = scaledCatalogue(size);
  const built = buildCatalogueBundle(catalogue, join(dir, String(size)));
  const engine = await loadPolicyEngine(await readBundleFile(built.path, 64 << 20));
  const sessions = new MemorySessionStore({ sweepIntervalMs: 60_000, retainMs: RETAIN_MS });
  const deps: CoreDeps = { ...core.deps, policy: new ActivePolicy(engine), sessions };
  // The session as the service grants it under this catalogue: every tool the reader may call.
  const session = await createSession(deps, { token, server: BENCH_SERVER }, BENCH_CALLER);
  const call = toolCallRequest(token, session.id!);
  const list: DecideRequest = {
    token,
    session: session.id!,
    server: BENCH_SERVER,
    mcp: { method: 'tools/list', protocol_version: '2025-06-18', candidates: catalogue.tools },
  };
  const called = await decide(deps, call, BENCH_CALLER);
  if (!called.allow) throw new Error(`${size} tools: the tools/call was denied: ${JSON.stringify(called.reasons)}`);
  const listed = await decide(deps, list, BENCH_CALLER);
  if (!listed.allow || listed.visible_tools?.length !== catalogue.readerTools.length) {
    throw new Error(`${size} tools: the tools/list answered ${JSON.stringify(listed).slice(0, 300)}`);
  }
  // The inputs decide() builds: the verified principal and the live session record.
  const principal = await deps.verifier.verify(token, BENCH_SERVER);
  const record = await sessions.get(hashSessionId(session.id!));
  const input = (request: DecideRequest) =>
    buildPolicyInput({
      mcp: request.mcp,
      principal,
      session: record!,
      server: BENCH_SERVER,
      caller: BENCH_CALLER,
      now: Date.now(),
    });
  const callInput = input(call);
  const listInput = input(list);
  if (!engine.decide(callInput).allow || !engine.decide(listInput).allow)
    throw new Error(`${size} tools: the policy alone denied`);
  log(
    `${size} tools: opa build ${built.seconds.toFixed(1)} s, ` +
      `bundle ${n0(built.bytes / 1024)} KiB, session scope ${record!.scope.length} tools`,
  );
  return {
    size,
    readerTools: catalogue.readerTools.length,
    dataBytes: JSON.stringify(catalogue.data).length,
    bundleBytes: built.bytes,
    buildSeconds: built.seconds,
    callInputBytes: JSON.stringify(callInput).length,
    listInputBytes: JSON.stringify(listInput).length,
    visible: listed.visible_tools.length,
    engine,
    deps,
    call,
    list,
    callInput,
    listInput,
  };
}

async function partCatalogue() {
  const { catalogueSizes: sizes, catalogueRounds: rounds } = CONFIG;
  console.log(
    `\n## 1. Catalogue size (${sizes.join(', ')} tools), ${rounds.rounds} rounds ` +
      `× ${rounds.roundMs / 1000} s per size, alternated; audit to the null sink`,
  );
  const core = await createBenchCore({ audit: 'off' });
  const dir = mkdtempSync(join(tmpdir(), 'warden-scaling-catalogue-'));
  try {
    const variants: CatalogueVariant[] = [];
    for (const size of sizes) variants.push(await catalogueVariant(core, size, dir));
    const results = {} as Record<CatalogueKey, AlternateResult>;
    for (const group of CATALOGUE_GROUPS) {
      const targets: Record<string, () => unknown> = {};
      for (const v of variants) {
        const name = `${v.size} tools`;
        targets[name] =
          group.key === 'policy_call'
            ? () => v.engine.decide(v.callInput)
            : group.key === 'policy_list'
              ? () => v.engine.decide(v.listInput)
              : decideOp(`${group.key} ${name}`, v.deps, group.key === 'decide_call' ? () => v.call : () => v.list);
      }
      results[group.key] = await alternateRounds(
        targets,
        { ...rounds, concurrency: group.concurrency },
        roundLog(group.key),
      );
    }
    return {
      variants: variants.map(
        ({ engine: _e, deps: _d, call: _c, list: _l, callInput: _ci, listInput: _li, ...facts }) => facts,
      ),
      results,
    };
  } finally {
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- 2. live sessions ------------------------------------------------------------------

interface StoreRow {
  readonly sessions: number;
  readonly perSecond: number;
  readonly perRound: readonly number[];
  readonly p50Us: number;
  readonly p99Us: number;
  readonly fillSeconds: number;
}
interface MemoryRow extends StoreRow {
  readonly heapUsedMb: number;
  readonly storeHeapMb: number;
  readonly bytesPerSession: number;
  readonly rssMb: number;
}
interface RedisRow extends StoreRow {
  readonly usedMemoryMb: number;
  readonly bytesPerSession: number;
}

/**
 * A request for a session picked at random among 0 … n−1, on every call: its id is derived
 * from the index (one sha256, about a microsecond, the same at every size), so the picks
 * cover all n sessions rather than a pool small enough to stay in the CPU caches.
 */
function randomPick(token: string, n: number): () => DecideRequest {
  return () => toolCallRequest(token, sessionId(Math.floor(Math.random() * n)));
}

async function partSessions() {
  const { memorySizes, redisSizes, sessionRounds: rounds, sessionLatency } = CONFIG;
  console.log(
    `\n## 2. Live sessions (memory ${memorySizes.map(sizeLabel).join(', ')}; ` +
      `Redis ${redisSizes.map(sizeLabel).join(', ')}), ` +
      `${rounds.rounds} rounds × ${rounds.roundMs / 1000} s per store, ` +
      'memory and Redis alternated; audit to the null sink',
  );
  const core = await createBenchCore({ audit: 'off' });
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
  const redisStore = new RedisSessionStore({
    url: server.url,
    keyPrefix: 'scaling:',
    commandTimeoutMs: 5_000,
    retainMs: RETAIN_MS,
    sweepIntervalMs: 3_600_000,
  });
  const memoryRows: MemoryRow[] = [];
  const redisRows: RedisRow[] = [];
  let drift: Record<string, number> = {};
  try {
    await redisStore.start();
    const token = core.request.token!;
    // The record the real createSession made for the bench principal: every generated session copies its shape.
    const like: SessionRecord = (await core.deps.sessions.get(hashSessionId(core.request.session!)))!;

    let redisSecondsPerSession = 0;
    const measureSize = async (n: number, withRedis: boolean, keep: boolean) => {
      settle();
      const before = process.memoryUsage();
      let memory: MemorySessionStore | undefined = new MemorySessionStore({
        sweepIntervalMs: 60_000,
        retainMs: RETAIN_MS,
      });
      await memory.start();
      const now = Date.now();
      let t0 = performance.now();
      await fillMemory(memory, n, like, now);
      const memoryFill = (performance.now() - t0) / 1000;
      settle();
      const after = process.memoryUsage();
      if (keep)
        log(
          `memory ${sizeLabel(n)}: filled in ${memoryFill.toFixed(1)} s; ` +
            `heap used ${n1(after.heapUsed / MB)} MB, RSS ${n1(after.rss / MB)} MB`,
        );

      let redisFill = 0;
      let redisUsed = 0;
      let redisOn = withRedis;
      if (redisOn) {
        await admin.flushall();
        const usedBefore = await usedMemory();
        t0 = performance.now();
        const filled = await fillStore(redisStore, { from: 0, to: n }, like, now, {
          deadline: t0 + CONFIG.redisFillBudgetS * 1000,
        });
        redisFill = (performance.now() - t0) / 1000;
        redisSecondsPerSession = redisFill / filled;
        redisUsed = (await usedMemory()) - usedBefore;
        if (filled < n) {
          const note =
            `Redis with ${sizeLabel(n)} sessions left out: the fill passed ` +
            `its ${CONFIG.redisFillBudgetS} s budget at ${n0(filled)} sessions.`;
          notes.push(note);
          log(note);
          await admin.flushall();
          redisOn = false;
        } else if (keep) {
          log(
            `redis ${sizeLabel(n)}: filled in ${redisFill.toFixed(1)} s (store.insert, ` +
              `1,000 in flight); used_memory +${n1(redisUsed / MB)} MB`,
          );
        }
      }

      const memoryDeps: CoreDeps = { ...core.deps, sessions: memory };
      const redisDeps: CoreDeps = { ...core.deps, sessions: redisStore };
      const pick = randomPick(token, n);
      const targets: Record<string, () => Promise<void>> = {
        [`memory ${sizeLabel(n)}`]: decideOp(`memory ${sizeLabel(n)}`, memoryDeps, pick),
      };
      if (redisOn) targets[`redis ${sizeLabel(n)}`] = decideOp(`redis ${sizeLabel(n)}`, redisDeps, pick);
      const throughput = await alternateRounds(targets, { ...rounds, concurrency: CONCURRENCY }, roundLog('decide()'));
      const latency = keep ? await latencies(targets, sessionLatency) : {};
      const row = (name: string, fillSeconds: number): StoreRow => ({
        sessions: n,
        perSecond: throughput.median[name]!,
        perRound: throughput.perRound[name]!,
        p50Us: latency[name]?.p50 ?? NaN,
        p99Us: latency[name]?.p99 ?? NaN,
        fillSeconds,
      });
      if (keep) {
        memoryRows.push({
          ...row(`memory ${sizeLabel(n)}`, memoryFill),
          heapUsedMb: after.heapUsed / MB,
          storeHeapMb: (after.heapUsed - before.heapUsed) / MB,
          bytesPerSession: (after.heapUsed - before.heapUsed) / n,
          rssMb: after.rss / MB,
        });
        if (redisOn)
          redisRows.push({
            ...row(`redis ${sizeLabel(n)}`, redisFill),
            usedMemoryMb: redisUsed / MB,
            bytesPerSession: redisUsed / n,
          });
        log(`${sizeLabel(n)} done at ${elapsed()}`);
      }
      await memory.stop();
      memory = undefined;
      if (redisOn) await admin.flushall();
      return throughput.median;
    };

    for (const n of memorySizes) {
      let withRedis = redisSizes.includes(n);
      if (withRedis && redisSecondsPerSession > 0 && redisSecondsPerSession * n > CONFIG.redisFillBudgetS) {
        const note =
          `Redis with ${sizeLabel(n)} sessions skipped: at the rate of the previous fill it would ` +
          `take about ${n0(redisSecondsPerSession * n)} s (budget ${CONFIG.redisFillBudgetS} s).`;
        notes.push(note);
        log(note);
        withRedis = false;
      }
      await measureSize(n, withRedis, true);
    }
    // The smallest size once more: how far the machine drifted since it was first measured.
    const first = memorySizes[0]!;
    log(`drift check: ${sizeLabel(first)} again`);
    drift = await measureSize(first, redisSizes.includes(first), false);
  } finally {
    await redisStore.stop();
    admin.disconnect();
    await server.stop();
    await core.close();
  }
  return { memoryRows, redisRows, drift };
}

// ---- 3. audit on / off -----------------------------------------------------------------

const SINKS = ['off', 'file', 'postgres'] as const;
type Sink = (typeof SINKS)[number];
const SINK_LABEL: Record<Sink, string> = {
  off: 'audit off (null sink: append resolves at once)',
  file: 'file sink (embedded default: hash chain, checkpoints, fdatasync per group commit)',
  postgres: 'PostgreSQL sink (own local cluster, fsync=off)',
};

async function partAudit() {
  const { auditRounds: rounds, auditLatency } = CONFIG;
  console.log(
    `\n## 3. Audit on/off, decide() ${CONCURRENCY} in flight, ${rounds.rounds} rounds ` +
      `× ${rounds.roundMs / 1000} s per sink, alternated (then 1 in flight for latency)`,
  );
  let pg: PostgresServer | undefined;
  const cores: Partial<Record<Sink, BenchCore>> = {};
  try {
    try {
      pg = await startPostgresServer();
    } catch (err) {
      const note = `PostgreSQL sink left out: ${(err as Error).message}`;
      notes.push(note);
      log(note);
    }
    const sinks = SINKS.filter((s) => s !== 'postgres' || pg !== undefined);
    for (const sink of sinks)
      cores[sink] = await createBenchCore(
        sink === 'postgres' ? { audit: sink, postgresUrl: pg!.url } : { audit: sink },
      );
    const targets: Record<string, () => Promise<void>> = {};
    for (const sink of sinks) {
      const { deps, request } = cores[sink]!;
      const first = await decide(deps, request, BENCH_CALLER);
      if (!first.allow) throw new Error(`denied with audit ${sink}: ${JSON.stringify(first.reasons)}`);
      targets[sink] = decideOp(`audit ${sink}`, deps, () => request);
    }
    const throughput = await alternateRounds(targets, { ...rounds, concurrency: CONCURRENCY }, roundLog('decide()'));
    const latency = await latencies(targets, auditLatency);
    return { sinks, throughput, latency };
  } finally {
    for (const sink of SINKS) await cores[sink]?.close();
    await pg?.stop();
  }
}

// ---- run and report ----------------------------------------------------------------------

const catalogue = await partCatalogue();
console.log(`  (part 1 done at ${elapsed()})`);
const sessions = await partSessions();
console.log(`  (part 2 done at ${elapsed()})`);
const audit = await partAudit();
console.log(`  (part 3 done at ${elapsed()})`);
const loadAfter = loadavg().map((x) => round(x, 2));

const us = (perSecond: number) => 1e6 / perSecond;
const md: string[] = [];
md.push(
  `**Machine:** ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ` +
    `${machine.os}; load average ${machine.load_before[0]} before the run, ` +
    `${loadAfter[0]} after (${new Date().toISOString().slice(0, 10)}, ` +
    `\`node --expose-gc bench/scaling.ts${QUICK ? ' --quick' : ''}\`, ${elapsed()}).`,
);

// Part 1
{
  const { variants, results } = catalogue;
  const base = variants[0]!;
  md.push(
    '',
    `### 1. Catalogue size`,
    '',
    'The default Rego, compiled with a generated `data.json` of N tools (`reader` ' +
      'may call the non-destructive ones; its session is granted them all). ' +
      `Median of ${CONFIG.catalogueRounds.rounds} × ${CONFIG.catalogueRounds.roundMs / 1000} s rounds, ` +
      `the sizes alternated; \`decide()\` with memory sessions, a warm token cache and audit to the null sink; ` +
      'a tools/list passes every catalogue tool as a candidate.',
    '',
    table(
      [
        'tools in the catalogue',
        'reader tools (= session scope = visible in a list)',
        'data.json',
        'bundle',
        'policy input, call / list',
      ],
      variants.map((v) => [
        n0(v.size),
        n0(v.readerTools),
        `${n1(v.dataBytes / 1024)} KiB`,
        `${n1(v.bundleBytes / 1024)} KiB`,
        `${n1(v.callInputBytes / 1024)} / ${n1(v.listInputBytes / 1024)} KiB`,
      ]),
    ),
    '',
    table(
      ['measured', 'tools', 'per second (median)', 'µs per decision (1 / rate)', `throughput vs ${base.size} tools`],
      CATALOGUE_GROUPS.flatMap((g) =>
        variants.map((v) => {
          const rate = results[g.key].median[`${v.size} tools`]!;
          return [g.what, n0(v.size), n0(rate), n1(us(rate)), pct(rate / results[g.key].median[`${base.size} tools`]!)];
        }),
      ),
    ),
    '',
  );
  // One chart per method: a tools/list at 1,000 tools would flatten every tools/call bar.
  for (const [method, policyKey, decideKey] of [
    ['tools/call', 'policy_call', 'decide_call'],
    ['tools/list', 'policy_list', 'decide_list'],
  ] as const) {
    md.push(
      barChart(
        `${method}: µs per decision by catalogue size (policy alone, then decide() ${CONCURRENCY} in flight)`,
        'µs per decision',
        [
          ...variants.map((v) => ({
            label: `policy, ${n0(v.size)}`,
            value: us(results[policyKey].median[`${v.size} tools`]!),
          })),
          ...variants.map((v) => ({
            label: `decide, ${n0(v.size)}`,
            value: us(results[decideKey].median[`${v.size} tools`]!),
          })),
        ],
      ),
      '',
    );
  }
}

// Part 2
{
  const { memoryRows, redisRows, drift } = sessions;
  const m0 = memoryRows[0]!;
  const r0 = redisRows[0];
  const lat = CONFIG.sessionLatency;
  md.push(
    `### 2. Live sessions`,
    '',
    `\`decide()\` (allowed tools/call, null audit sink) presenting a session picked ` +
      'at random among the N live ones (its id derived from a random index on each call: ' +
      `one sha256, the same at every size); throughput with ${CONCURRENCY} in flight ` +
      `(median of ${CONFIG.sessionRounds.rounds} × ${CONFIG.sessionRounds.roundMs / 1000} s, ` +
      'memory and Redis alternated), latency one at a time ' +
      `(${lat.rounds} × ${lat.roundMs / 1000} s alternated). Sessions are ` +
      'written straight into the store (no grant, no audit record per session), ' +
      'each one its own record shaped like the one createSession made, all owned by the bench principal. ' +
      'Redis is a local `redis-server` on loopback, filled through ' +
      '`RedisSessionStore.insert` with 1,000 inserts in flight (pipelined by ioredis).',
    '',
    table(
      [
        'memory store: live sessions',
        'decisions/s',
        'vs 1k',
        'p50 µs',
        'p99 µs',
        'vs 1k (p50)',
        'heap used after GC',
        'of which the sessions',
        'RSS after GC',
      ],
      memoryRows.map((r) => [
        n0(r.sessions),
        n0(r.perSecond),
        pct(r.perSecond / m0.perSecond),
        n1(r.p50Us),
        n1(r.p99Us),
        times(r.p50Us / m0.p50Us),
        `${n1(r.heapUsedMb)} MB`,
        `${n1(r.storeHeapMb)} MB (${n0(r.bytesPerSession)} B each)`,
        `${n1(r.rssMb)} MB`,
      ]),
    ),
    '',
  );
  if (r0 !== undefined) {
    md.push(
      table(
        [
          'Redis store: live sessions',
          'decisions/s',
          'vs 1k',
          'p50 µs',
          'p99 µs',
          'vs 1k (p50)',
          'used_memory',
          'per session',
          'fill time',
        ],
        redisRows.map((r) => [
          n0(r.sessions),
          n0(r.perSecond),
          pct(r.perSecond / r0.perSecond),
          n1(r.p50Us),
          n1(r.p99Us),
          times(r.p50Us / r0.p50Us),
          `${n1(r.usedMemoryMb)} MB`,
          `${n0(r.bytesPerSession)} B`,
          `${n1(r.fillSeconds)} s`,
        ]),
      ),
      '',
    );
  }
  const driftRatios = [
    ['memory', drift[`memory ${sizeLabel(m0.sessions)}`], m0.perSecond],
    ['redis', drift[`redis ${sizeLabel(m0.sessions)}`], r0?.perSecond],
  ].flatMap(([store, again, first]) =>
    typeof again === 'number' && typeof first === 'number'
      ? [{ store: store as string, again, first, ratio: again / first }]
      : [],
  );
  const drifted = driftRatios.filter((d) => Math.abs(d.ratio - 1) > 0.15);
  if (drifted.length > 0) {
    notes.push(
      `The machine drifted during part 2: the ${sizeLabel(m0.sessions)} case, measured again ` +
        `at the end, ran at ${drifted.map((d) => `${pct(d.ratio)} (${d.store})`).join(', ')} ` +
        'of its first figure — the throughput ratios of the sizes measured in between ' +
        'are not to be trusted; the one-at-a-time p50 latencies are the steadier figure.',
    );
  }
  md.push(
    `Drift check, the ${sizeLabel(m0.sessions)} case measured again at the end: ` +
      driftRatios.map((d) => `${d.store} ${n0(d.again)}/s (${pct(d.ratio)} of the first ${n0(d.first)}/s)`).join(', ') +
      (drifted.length > 0 ? ' — **drifted by more than 15 %**.' : '.'),
    '',
    barChart(`decide() ${CONCURRENCY} in flight by live sessions: decisions/s`, 'decisions/s', [
      ...memoryRows.map((r) => ({ label: `memory ${sizeLabel(r.sessions)}`, value: r.perSecond })),
      ...redisRows.map((r) => ({ label: `redis ${sizeLabel(r.sessions)}`, value: r.perSecond })),
    ]),
    '',
    barChart('Memory taken by the live sessions (MB)', 'MB', [
      ...memoryRows.map((r) => ({ label: `heap ${sizeLabel(r.sessions)}`, value: r.storeHeapMb })),
      ...redisRows.map((r) => ({ label: `redis ${sizeLabel(r.sessions)}`, value: r.usedMemoryMb })),
    ]),
    '',
  );
}

// Part 3
{
  const { sinks, throughput, latency } = audit;
  const off = throughput.median.off!;
  md.push(
    `### 3. Audit on / off`,
    '',
    `\`decide()\` (allowed tools/call, memory session, ` +
      `warm token cache), the sinks alternated: ${CONCURRENCY} in flight ` +
      `(${CONFIG.auditRounds.rounds} × ${CONFIG.auditRounds.roundMs / 1000} s), ` +
      `then one at a time (${CONFIG.auditLatency.rounds} × ${CONFIG.auditLatency.roundMs / 1000} s).`,
    '',
    table(
      [
        'audit sink',
        `decisions/s, ${CONCURRENCY} in flight`,
        'rounds',
        'cost: (off − x) / off',
        '1 in flight p50 µs',
        'p99 µs',
      ],
      sinks.map((s) => [
        SINK_LABEL[s],
        n0(throughput.median[s]!),
        throughput.perRound[s]!.map(n0).join(', '),
        s === 'off' ? '—' : pct((off - throughput.median[s]!) / off),
        n1(latency[s]!.p50),
        n1(latency[s]!.p99),
      ]),
    ),
    '',
    barChart(
      `decide() ${CONCURRENCY} in flight by audit sink: decisions/s`,
      'decisions/s',
      sinks.map((s) => ({ label: s === 'off' ? 'audit off' : `${s} sink`, value: throughput.median[s]! })),
    ),
    '',
  );
}

if (Math.max(machine.load_before[0]!, loadAfter[0]!) >= 1) {
  notes.push(
    `Other work shared the machine: load average ${machine.load_before[0]} before the run ` +
      `and ${loadAfter[0]} after, on ${machine.cores} cores (this run itself keeps one to two of them busy).`,
  );
}
const deniedTotal = Object.values(denied).reduce((a, b) => a + b, 0);
md.push(
  `Checks: ${deniedTotal} decisions answered allow:false during the timed ` +
    `rounds (must be 0).${notes.length > 0 ? ` ${notes.join(' ')}` : ''}`,
);
const markdown = md.join('\n');
console.log(`\n## Summary\n\n${markdown}\n`);

if (!QUICK) {
  mkdirSync(join(RESULTS_JSON, '..'), { recursive: true });
  const summary = {
    generated_at: new Date().toISOString(),
    machine: { ...machine, load_after: loadAfter },
    config: CONFIG,
    catalogue: {
      variants: catalogue.variants,
      per_s: Object.fromEntries(CATALOGUE_GROUPS.map((g) => [g.key, catalogue.results[g.key].median])),
      per_round: Object.fromEntries(CATALOGUE_GROUPS.map((g) => [g.key, catalogue.results[g.key].perRound])),
    },
    sessions,
    audit: {
      sinks: audit.sinks,
      per_s: audit.throughput.median,
      per_round: audit.throughput.perRound,
      latency_us: audit.latency,
    },
    denied,
    notes,
  };
  writeFileSync(RESULTS_JSON, `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(RESULTS_MD, `${markdown}\n`);
  console.log(`(written to ${RESULTS_JSON} and ${RESULTS_MD})`);
}
if (deniedTotal > 0) {
  console.error(
    `\n${deniedTotal} decisions were denied during the timed rounds — ` +
      `the figures are not valid: ${JSON.stringify(denied)}`,
  );
  process.exitCode = 1;
}
