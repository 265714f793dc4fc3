// The latency the enforcement proxy adds to a `tools/call`, against the same call made
// directly, in one run: the real server-everything (streamableHttp) upstream, the proxy
// in front of it as a child process (`node src/cli.ts proxy`, deciding in-process: file
// audit, memory sessions, the catalogue-everything bundle, the dev issuer), and the real
// SDK client in this process, one connected directly and one through the proxy.
//
//   node bench/proxy.ts                    about 1.5 min (2 on a busy machine); writes bench/results/proxy-latest.json
//   node bench/proxy.ts --quick            about 20 s, nothing written
//   node bench/proxy.ts --quick --profile /tmp/prof-proxy
//                                          the proxy under --cpu-prof: its top self-time functions and where a call's CPU goes
//   --log-level info                       the proxy's log level (default warn: no per-request log lines)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadDevIssuer } from '../src/identity/dev-issuer.ts';
import { startEverything, type Everything } from '../test/helpers/everything.ts';
import { startProxyChild, type ProxyChild } from './proxy/child.ts';
import { summarizeProfile } from './proxy/cpuprofile.ts';
import { median } from './lib/stats.ts';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
  },
  strict: true,
});

const PLAN = opts.quick
  ? { warmupCalls: 100, rounds: 3, callsPerRound: 300, concurrency: 16, concWarmupMs: 500, concRounds: 3, concRoundMs: 1000 }
  : { warmupCalls: 300, rounds: 5, callsPerRound: 1000, concurrency: 16, concWarmupMs: 2000, concRounds: 5, concRoundMs: 3000 };
const AIM_ADDED_P99_US = 1000;
const RESOURCE = 'https://mcp.example.com/everything';
const BUNDLE = fileURLToPath(new URL('../var/test-bundles/catalogue-everything.tar.gz', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/proxy-latest.json', import.meta.url));
const CALL = { name: 'echo', arguments: { message: 'x' } } as const;
const EXPECTED = 'Echo: x';

const PATHS = ['direct', 'proxied'] as const;
type PathName = (typeof PATHS)[number];
const LABEL: Record<PathName, string> = { direct: 'direct → server-everything', proxied: 'through the proxy' };

// ---- cleanup: children never outlive this process, whatever ends it ----
let everything: Everything | undefined;
let proxy: ProxyChild | undefined;
const clients: Client[] = [];
const workDir = mkdtempSync(join(tmpdir(), 'warden-bench-proxy-'));
let cleaned: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await everything?.stop().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  })();
  return cleaned;
}
process.on('exit', () => proxy?.kill()); // server-everything exits by itself when our stdin pipe to it closes
let interrupted: string | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = signal;
    console.error(`\n${signal}: stopping the proxy and server-everything…`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---- statistics ----
/** Nearest-rank percentile of an ascending list. */
function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}
interface Latency {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  n: number;
}
function latency(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: pct(sorted, 0.5), p90: pct(sorted, 0.9), p99: pct(sorted, 0.99), mean: sorted.reduce((s, x) => s + x, 0) / sorted.length, n: sorted.length };
}
const us = (x: number) => Math.round(x).toLocaleString('en-US');
const signedUs = (x: number) => `${x >= 0 ? '+' : '−'}${us(Math.abs(x))}`;
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

// ---- calls ----
let unexpected = 0;
let firstUnexpected: unknown;
function check(result: unknown): void {
  const content = (result as { content?: Array<{ text?: unknown }> }).content;
  if (content?.[0]?.text !== EXPECTED) {
    unexpected += 1;
    firstUnexpected ??= result;
  }
}

/** One timed call, in µs. */
async function timedCall(client: Client): Promise<number> {
  const t0 = process.hrtime.bigint();
  const result = await client.callTool(CALL);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1000;
  check(result);
  return elapsed;
}

/** `concurrency` loops calling back to back for `ms`; answers calls/s and each call's latency in µs. */
async function inFlight(client: Client, ms: number, concurrency: number): Promise<{ perSecond: number; samples: number[] }> {
  const samples: number[] = [];
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  const loop = async () => {
    do samples.push(await timedCall(client));
    while (process.hrtime.bigint() < deadline);
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSecond: samples.length / seconds, samples };
}

async function connect(url: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'warden-bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  clients.push(client);
  return client;
}

/** Clock ticks per second of /proc/<pid>/stat (Linux). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface CpuTimes {
  /** user + system of the whole process (every thread), µs. */
  total: number;
  /** system part of it. */
  system: number;
  /** user + system of the main thread (the event loop) alone. */
  main: number;
}

/** CPU time a process has used so far (/proc/<pid>/stat, Linux); undefined elsewhere. */
function cpuTimes(pid: number | undefined): CpuTimes | undefined {
  if (pid === undefined) return undefined;
  // Fields 14 and 15 of proc(5), utime and stime, in clock ticks; the slice starts at field 3.
  const read = (file: string) => {
    const stat = readFileSync(file, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: (Number(fields[11]) / CLK_TCK) * 1e6, system: (Number(fields[12]) / CLK_TCK) * 1e6 };
  };
  try {
    const all = read(`/proc/${pid}/stat`);
    const main = read(`/proc/${pid}/task/${pid}/stat`);
    return { total: all.user + all.system, system: all.system, main: main.user + main.system };
  } catch {
    return undefined;
  }
}

/** Adds up a process's CPU time over chosen stretches of the run. */
class CpuMeter {
  readonly #pid: number | undefined;
  readonly #sum: CpuTimes = { total: 0, system: 0, main: 0 };
  #from: CpuTimes | undefined;
  #calls = 0;
  constructor(pid: number | undefined) {
    this.#pid = pid;
  }
  start(): void {
    this.#from = cpuTimes(this.#pid);
  }
  stop(calls: number): void {
    const to = cpuTimes(this.#pid);
    if (this.#from === undefined || to === undefined) return;
    for (const key of ['total', 'system', 'main'] as const) this.#sum[key] += to[key] - this.#from[key];
    this.#calls += calls;
  }
  /** µs per call, or undefined when nothing was measured. */
  perCall(): CpuTimes | undefined {
    if (this.#calls === 0) return undefined;
    const { total, system, main } = this.#sum;
    return { total: total / this.#calls, system: system / this.#calls, main: main / this.#calls };
  }
}

function newestProfile(dir: string, pid: number | undefined): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && (pid === undefined || f.includes(`.${pid}.`)))
    .map((f) => join(dir, f));
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

// ---- the run ----
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  os: `${platform()} ${release()}`,
  load_1m_before: round(loadavg()[0] ?? 0, 2),
};
const profileDir = opts.profile;
const started = Date.now();

try {
  if (!existsSync(BUNDLE)) {
    console.log('compiling the test bundles (test/global-setup.ts)…');
    const setup = (await import('../test/global-setup.ts')) as { default: () => void };
    setup.default();
  }

  everything = await startEverything();
  // The dev key is made here first, so the proxy loads the same one.
  const devKeyFile = join(workDir, 'dev-issuer.jwk.json');
  const issuer = await loadDevIssuer(devKeyFile);
  const configFile = join(workDir, 'config.json');
  const config = {
    server: { dev: true, dev_key_file: devKeyFile, log_level: opts['log-level'] },
    policy: { bundle: BUNDLE, watch: false },
    audit: { file: join(workDir, 'audit.jsonl'), checkpoint_key_file: join(workDir, 'audit-checkpoint.jwk.json') },
    session: { store: 'memory' },
    proxy: { port: 0, resource: RESOURCE },
  };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=100'];
  proxy = await startProxyChild(everything.url, configFile, nodeArgs);

  const token = await issuer.mint({ sub: 'bench-user', audience: RESOURCE, scope: 'mcp:read', ttl_seconds: 3600 });
  const client: Record<PathName, Client> = {
    direct: await connect(everything.url, {}),
    proxied: await connect(proxy.url, { authorization: `Bearer ${token}` }),
  };
  for (const path of PATHS) {
    const first = await client[path].callTool(CALL);
    check(first);
    if (unexpected > 0) throw new Error(`${path}: echo answered ${JSON.stringify(first)}`);
  }

  console.log(`mcp-warden proxy overhead per tools/call (echo) — ${opts.quick ? 'QUICK run' : 'full run'}`);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}, load average ${machine.load_1m_before} (1 min) before the run`);
  console.log(`upstream ${everything.url} (server-everything streamableHttp, own process)`);
  console.log(`proxy    ${proxy.url} (node src/cli.ts proxy, own process, pid ${proxy.pid}${profileDir ? ', under --cpu-prof' : ''}; in-process decisions, file audit, memory sessions, catalogue-everything bundle, log level ${opts['log-level']})`);
  console.log('client   @modelcontextprotocol/sdk Client + StreamableHTTPClientTransport in this process\n');

  // Sequential: warm-up, then rounds alternated direct, proxied, direct, proxied, …
  const profileFrom = process.hrtime.bigint() / 1000n;
  let proxiedCalls = 0;
  for (const path of PATHS) {
    for (let i = 0; i < PLAN.warmupCalls; i++) await timedCall(client[path]);
  }
  proxiedCalls += PLAN.warmupCalls;
  console.log(`1 in flight: ${PLAN.rounds} rounds × ${PLAN.callsPerRound.toLocaleString('en-US')} calls per path, alternated, after ${PLAN.warmupCalls} warm-up calls each`);
  const seq: Record<PathName, number[][]> = { direct: [], proxied: [] };
  // The proxy's own CPU time while it serves the proxied rounds (it idles during the direct ones).
  const seqCpu = new CpuMeter(proxy.pid);
  const concCpu = new CpuMeter(proxy.pid);
  for (let round = 1; round <= PLAN.rounds; round++) {
    for (const path of PATHS) {
      const samples: number[] = [];
      if (path === 'proxied') seqCpu.start();
      for (let i = 0; i < PLAN.callsPerRound; i++) samples.push(await timedCall(client[path]));
      if (path === 'proxied') seqCpu.stop(samples.length);
      seq[path].push(samples);
      const l = latency(samples);
      console.log(`  round ${round} ${path.padEnd(7)}  p50 ${us(l.p50).padStart(6)} µs  p99 ${us(l.p99).padStart(6)} µs  mean ${us(l.mean).padStart(6)} µs`);
    }
    proxiedCalls += PLAN.callsPerRound;
  }

  // Concurrent: `concurrency` calls in flight per path, alternated the same way.
  console.log(`\n${PLAN.concurrency} in flight: ${PLAN.concRounds} rounds × ${PLAN.concRoundMs / 1000} s per path, alternated, after ${PLAN.concWarmupMs / 1000} s warm-up each`);
  for (const path of PATHS) {
    const warm = await inFlight(client[path], PLAN.concWarmupMs, PLAN.concurrency);
    if (path === 'proxied') proxiedCalls += warm.samples.length;
  }
  const conc: Record<PathName, Array<{ perSecond: number; samples: number[] }>> = { direct: [], proxied: [] };
  for (let round = 1; round <= PLAN.concRounds; round++) {
    for (const path of PATHS) {
      if (path === 'proxied') concCpu.start();
      const run = await inFlight(client[path], PLAN.concRoundMs, PLAN.concurrency);
      if (path === 'proxied') concCpu.stop(run.samples.length);
      conc[path].push(run);
      if (path === 'proxied') proxiedCalls += run.samples.length;
      const l = latency(run.samples);
      console.log(`  round ${round} ${path.padEnd(7)}  ${us(run.perSecond).padStart(6)} calls/s  p50 ${us(l.p50).padStart(6)} µs  p99 ${us(l.p99).padStart(6)} µs`);
    }
  }
  const profileTo = process.hrtime.bigint() / 1000n;

  // ---- summary ----
  const seqAll = Object.fromEntries(PATHS.map((p) => [p, latency(seq[p].flat())])) as Record<PathName, Latency>;
  const seqRoundMedians = Object.fromEntries(PATHS.map((p) => [p, seq[p].map((r) => latency(r).p50)])) as Record<PathName, number[]>;
  const addedPerRound = seqRoundMedians.proxied.map((m, i) => m - (seqRoundMedians.direct[i] as number));
  const added = {
    p50: seqAll.proxied.p50 - seqAll.direct.p50,
    p90: seqAll.proxied.p90 - seqAll.direct.p90,
    p99: seqAll.proxied.p99 - seqAll.direct.p99,
    mean: seqAll.proxied.mean - seqAll.direct.mean,
  };
  const concPerSecond = Object.fromEntries(PATHS.map((p) => [p, conc[p].map((r) => r.perSecond)])) as Record<PathName, number[]>;
  const concMedian = Object.fromEntries(PATHS.map((p) => [p, median(concPerSecond[p])])) as Record<PathName, number>;
  const concLatency = Object.fromEntries(PATHS.map((p) => [p, latency(conc[p].flatMap((r) => r.samples))])) as Record<PathName, Latency>;
  const concRatios = concPerSecond.proxied.map((x, i) => x / (concPerSecond.direct[i] as number));
  const concRatio = concMedian.proxied / concMedian.direct;
  const met = added.p99 <= AIM_ADDED_P99_US;
  const loadAfter = round(loadavg()[0] ?? 0, 2);

  const list = (xs: readonly number[]) => xs.map(us).join(', ');
  const pctStr = (x: number) => `${(x * 100).toFixed(1)} %`;
  const seqTitle = `1 in flight (sequential awaits), ${PLAN.rounds} × ${PLAN.callsPerRound.toLocaleString('en-US')} calls per path, alternated`;
  console.log(`
## Summary

**Machine:** ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}; load average ${machine.load_1m_before} before the run, ${loadAfter} after (the run alone keeps about 2–3 busy)${profileDir ? '; **proxy under --cpu-prof** (figures inflated)' : ''}${opts.quick ? '; **--quick**' : ''}

| ${seqTitle} | p50 µs | p90 µs | p99 µs | mean µs | per-round medians µs |
|---|---:|---:|---:|---:|---|
| ${LABEL.direct} | ${us(seqAll.direct.p50)} | ${us(seqAll.direct.p90)} | ${us(seqAll.direct.p99)} | ${us(seqAll.direct.mean)} | ${list(seqRoundMedians.direct)} |
| ${LABEL.proxied} | ${us(seqAll.proxied.p50)} | ${us(seqAll.proxied.p90)} | ${us(seqAll.proxied.p99)} | ${us(seqAll.proxied.mean)} | ${list(seqRoundMedians.proxied)} |
| **added by the proxy** (proxied − direct) | **${signedUs(added.p50)}** | ${signedUs(added.p90)} | **${signedUs(added.p99)}** | ${signedUs(added.mean)} | ${addedPerRound.map(signedUs).join(', ')} |

| ${PLAN.concurrency} calls in flight, ${PLAN.concRounds} × ${PLAN.concRoundMs / 1000} s per path, alternated | calls/s (median) | per round | p50 µs | p99 µs |
|---|---:|---|---:|---:|
| ${LABEL.direct} | ${us(concMedian.direct)} | ${list(concPerSecond.direct)} | ${us(concLatency.direct.p50)} | ${us(concLatency.direct.p99)} |
| ${LABEL.proxied} | ${us(concMedian.proxied)} | ${list(concPerSecond.proxied)} | ${us(concLatency.proxied.p50)} | ${us(concLatency.proxied.p99)} |
| proxied / direct (per round: ${concRatios.map(pctStr).join(', ')}) | ${pctStr(concRatio)} | | | |

Aim: the proxy adds ≤ ${us(AIM_ADDED_P99_US)} µs at p99 on loopback — measured ${signedUs(added.p99)} µs (p50 ${signedUs(added.p50)} µs): **${met ? 'met' : 'NOT met'}**
(added = the difference of the two paths' percentiles over all sequential rounds, not a percentile of per-call differences)
Proxy CPU per proxied call (/proc/${proxy.pid}/stat, ${us(1e6 / CLK_TCK)} µs ticks${profileDir ? ', under the profiler' : ''}): ${cpuLine(seqCpu.perCall(), '1 in flight')}; ${cpuLine(concCpu.perCall(), `${PLAN.concurrency} in flight`)}
Checks: ${(seqAll.direct.n + seqAll.proxied.n + concLatency.direct.n + concLatency.proxied.n).toLocaleString('en-US')} timed calls, ${unexpected} unexpected results${Math.max(machine.load_1m_before, loadAfter) >= 1 || machine.cores <= 2 ? `\nNote: ${machine.cores} cores shared by the load generator, the proxy and server-everything${machine.load_1m_before >= 1 ? `, machine already loaded (${machine.load_1m_before})` : ''}: figures are noisy.` : ''}`);
  if (unexpected > 0) {
    console.error(`first unexpected result: ${JSON.stringify(firstUnexpected)}`);
    process.exitCode = 1;
  }

  // Stop the proxy now: its audit is flushed and its profile written on exit.
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await proxy.stop();
  const auditFile = join(workDir, 'audit.jsonl');
  const audited = existsSync(auditFile) ? readFileSync(auditFile, 'utf8').split('\n').filter((l) => l.includes('"tools/call"')).length : 0;
  console.log(`Audit: ${audited.toLocaleString('en-US')} tools/call records in the proxy's trail for ${(proxiedCalls + 1).toLocaleString('en-US')} proxied calls (measured and warm-up)`);

  let profileSummary: ReturnType<typeof summarizeProfile> | undefined;
  let profileFile: string | undefined;
  if (profileDir !== undefined) {
    profileFile = newestProfile(profileDir, proxy.pid);
    if (profileFile === undefined) throw new Error(`no .cpuprofile of pid ${proxy.pid} in ${profileDir}`);
    profileSummary = summarizeProfile(profileFile, { fromUs: Number(profileFrom), toUs: Number(profileTo) });
    const { busyUs, idleUs, functions, areas, parts, windowed } = profileSummary;
    const share = (x: number) => `${((x / busyUs) * 100).toFixed(1)} %`;
    const perCall = (x: number) => (x / proxiedCalls).toFixed(1);
    console.log(`
## Proxy CPU profile (${profileFile})

${windowed ? 'Samples inside the measured phases only (startup and shutdown left out)' : 'All samples (the measuring window did not line up with the profile clock)'}: busy ${us(busyUs / 1000)} ms, idle ${us(idleUs / 1000)} ms, ${proxiedCalls.toLocaleString('en-US')} proxied calls → **${perCall(busyUs)} µs of proxy CPU per call** (sampling every 100 µs; the profiler inflates this).

| top 15 by self time | self ms | share of busy | µs per call |
|---|---:|---:|---:|
${functions.slice(0, 15).map((f) => `| \`${f.name}\` | ${us(f.us / 1000)} | ${share(f.us)} | ${perCall(f.us)} |`).join('\n')}

| where a proxied call's CPU goes (each sample once, by its stack) | ms | share of busy | µs per call |
|---|---:|---:|---:|
${parts.map((f) => `| ${f.name} | ${us(f.us / 1000)} | ${share(f.us)} | ${perCall(f.us)} |`).join('\n')}

| self time by area | self ms | share of busy | µs per call |
|---|---:|---:|---:|
${areas.slice(0, 15).map((f) => `| ${f.name} | ${us(f.us / 1000)} | ${share(f.us)} | ${perCall(f.us)} |`).join('\n')}`);
  }

  if (!opts.quick && profileDir === undefined) {
    mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
    const summary = {
      generated_at: new Date().toISOString(),
      machine: { ...machine, load_1m_after: loadAfter },
      plan: PLAN,
      proxy_log_level: opts['log-level'],
      sequential_us: { direct: mapRound(seqAll.direct), proxied: mapRound(seqAll.proxied), round_medians: { direct: seqRoundMedians.direct.map((x) => round(x)), proxied: seqRoundMedians.proxied.map((x) => round(x)) } },
      added_us: { p50: round(added.p50), p90: round(added.p90), p99: round(added.p99), mean: round(added.mean), per_round_median: addedPerRound.map((x) => round(x)) },
      concurrent: {
        in_flight: PLAN.concurrency,
        calls_per_s: { direct: round(concMedian.direct), proxied: round(concMedian.proxied), per_round: { direct: concPerSecond.direct.map((x) => round(x)), proxied: concPerSecond.proxied.map((x) => round(x)) } },
        latency_us: { direct: mapRound(concLatency.direct), proxied: mapRound(concLatency.proxied) },
        proxied_over_direct: round(concRatio, 3),
        per_round_ratios: concRatios.map((x) => round(x, 3)),
      },
      proxy_cpu_us_per_call: { sequential: cpuRound(seqCpu.perCall()), concurrent: cpuRound(concCpu.perCall()) },
      aim: { added_p99_us_at_most: AIM_ADDED_P99_US, measured: round(added.p99), met },
      checks: { unexpected_results: unexpected, audited_tool_calls: audited, proxied_calls: proxiedCalls + 1 },
      seconds: round((Date.now() - started) / 1000, 1),
    };
    writeFileSync(RESULTS, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`(written to ${RESULTS})`);
  } else {
    console.log(`(nothing written: ${opts.quick ? '--quick' : '--profile'} run)`);
  }
  console.log(`(${round((Date.now() - started) / 1000, 1)} s)`);
} catch (err) {
  if (interrupted !== undefined) await new Promise(() => {}); // the signal handler cleans up and exits
  console.error(err);
  if (proxy !== undefined) console.error(`proxy output (last 4 KiB):\n${proxy.output()}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}

function cpuLine(t: CpuTimes | undefined, label: string): string {
  if (t === undefined) return `${label} n/a`;
  return `${us(t.total)} µs at ${label} (event-loop thread ${us(t.main)} µs, other threads ${us(t.total - t.main)} µs; system ${us(t.system)} µs of the total)`;
}

function cpuRound(t: CpuTimes | undefined): Record<string, number> | null {
  return t === undefined ? null : { total: round(t.total), main_thread: round(t.main), system: round(t.system) };
}

function mapRound(l: Latency): Record<string, number> {
  return { p50: round(l.p50), p90: round(l.p90), p99: round(l.p99), mean: round(l.mean), calls: l.n };
}
