// The latency the enforcement proxy adds to a `tools/call`, against the same call made
// directly, in one run: the real server-everything (streamableHttp) upstream, the proxy
// in front of it as a child process (`node src/cli.ts proxy`, deciding in-process: file
// audit, memory sessions, the catalogue-everything bundle, the dev issuer), and the real
// SDK client in this process, connected three ways, alternated round by round:
//   direct   straight to server-everything;
//   bare     through a bare reverse proxy (bench/proxy/bare-proxy.ts, own process: node:http,
//            the warden proxy's upstream pool and relay, no authorization), the reference
//            that separates the cost of any extra HTTP hop from the cost of authorization;
//   proxied  through mcp-warden's proxy.
//
//   node bench/proxy.ts                    about 2.5 min (3 on a busy machine); writes bench/results/proxy-latest.json
//   node bench/proxy.ts --quick            about 30 s, nothing written
//   node bench/proxy.ts --quick --profile /tmp/prof-proxy
//                                          the proxy under --cpu-prof: its top self-time functions
//                                          and where a call's CPU goes
//   --log-level info                       the proxy's log level (default warn: no per-request log lines)
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
  readFileSync,
  existsSync,
} from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort } from '../src/cli/proxy.ts';
import { loadDevIssuer } from '../src/identity/dev-issuer.ts';
import { startEverything, type Everything } from '../test/helpers/everything.ts';
import { startBareProxyChild, startProxyChild, type ProxyChild } from './proxy/child.ts';
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
  ? {
      warmupCalls: 100,
      rounds: 3,
      callsPerRound: 300,
      concurrency: 16,
      concWarmupMs: 500,
      concRounds: 3,
      concRoundMs: 1000,
    }
  : {
      warmupCalls: 300,
      rounds: 5,
      callsPerRound: 1000,
      concurrency: 16,
      concWarmupMs: 2000,
      concRounds: 5,
      concRoundMs: 3000,
    };
const AIM_ADDED_P99_US = 1000;
const BUNDLE = fileURLToPath(new URL('../var/test-bundles/catalogue-everything.tar.gz', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/proxy-latest.json', import.meta.url));
const CALL = { name: 'echo', arguments: { message: 'x' } } as const;
const EXPECTED = 'Echo: x';

/** The ways a call reaches server-everything, in the order the rounds alternate them. */
const LABEL = {
  direct: 'direct → server-everything',
  bare: 'through a bare reverse proxy',
  proxied: 'through the mcp-warden proxy',
} as const;
type PathName = keyof typeof LABEL;
/**
 * The differences reported, `of` − `over` (and `of` / `over` for throughput); `key` names
 * them in the JSON results.
 */
const DIFFS = [
  { key: 'bare_hop_us', label: 'added by a bare HTTP hop', of: 'bare', over: 'direct' },
  { key: 'added_us', label: 'added by mcp-warden', of: 'proxied', over: 'direct' },
  {
    key: 'authorization_us',
    label: "authorization's own share, mcp-warden over a bare hop",
    of: 'proxied',
    over: 'bare',
  },
] as const satisfies ReadonlyArray<{ key: string; label: string; of: PathName; over: PathName }>;

// ---- cleanup: children never outlive this process, whatever ends it ----
let everything: Everything | undefined;
let proxy: ProxyChild | undefined;
let bare: ProxyChild | undefined;
const clients: Client[] = [];
const workDir = mkdtempSync(join(tmpdir(), 'warden-bench-proxy-'));
let cleaned: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await bare?.stop().catch(() => undefined);
    await everything?.stop().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  })();
  return cleaned;
}
process.on('exit', () => {
  proxy?.kill();
  bare?.kill();
}); // server-everything exits by itself when our stdin pipe to it closes
let interrupted: string | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = signal;
    console.error(`\n${signal}: stopping the proxies and server-everything…`);
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
  return {
    p50: pct(sorted, 0.5),
    p90: pct(sorted, 0.9),
    p99: pct(sorted, 0.99),
    mean: sorted.reduce((s, x) => s + x, 0) / sorted.length,
    n: sorted.length,
  };
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

/** One way to server-everything: its client, the proxy process on the way (none direct), what was measured. */
interface Path {
  readonly name: PathName;
  readonly client: Client;
  /** The process between client and server-everything, whose CPU time is measured. */
  readonly via: ProxyChild | undefined;
  /** Calls made, timed or not (the first check, warm-up, measured). */
  calls: number;
  /** Sequential rounds: each call's latency in µs. */
  readonly seq: number[][];
  /** Concurrent rounds. */
  readonly conc: InFlightRun[];
  /** The proxy's CPU time over the sequential and over the concurrent rounds. */
  readonly seqCpu: CpuMeter;
  readonly concCpu: CpuMeter;
}
interface InFlightRun {
  perSecond: number;
  samples: number[];
}
function newPath(name: PathName, client: Client, via?: ProxyChild): Path {
  return {
    name,
    client,
    via,
    calls: 0,
    seq: [],
    conc: [],
    seqCpu: new CpuMeter(via?.pid),
    concCpu: new CpuMeter(via?.pid),
  };
}

/** One timed call, in µs. */
async function timedCall(path: Path): Promise<number> {
  const t0 = process.hrtime.bigint();
  const result = await path.client.callTool(CALL);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1000;
  path.calls += 1;
  check(result);
  return elapsed;
}

/** `concurrency` loops calling back to back for `ms`; answers calls/s and each call's latency in µs. */
async function inFlight(path: Path, ms: number, concurrency: number): Promise<InFlightRun> {
  const samples: number[] = [];
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  const loop = async () => {
    do samples.push(await timedCall(path));
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
  const proxyPort = await freePort('127.0.0.1');
  const config = {
    server: { dev: true, dev_key_file: devKeyFile, log_level: opts['log-level'] },
    policy: { bundle: BUNDLE, watch: false },
    audit: { file: join(workDir, 'audit.jsonl'), checkpoint_key_file: join(workDir, 'audit-checkpoint.jwk.json') },
    session: { store: 'memory' },
    // The resource is the endpoint's own URL (RFC 9728 §3.3): the port is chosen first.
    proxy: { port: proxyPort, resource: `http://127.0.0.1:${proxyPort}/mcp` },
  };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const nodeArgs =
    profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=100'];
  proxy = await startProxyChild(everything.url, configFile, nodeArgs);
  bare = await startBareProxyChild(everything.url);

  const token = await issuer.mint({
    sub: 'bench-user',
    audience: config.proxy.resource,
    scope: 'mcp:read',
    ttl_seconds: 3600,
  });
  // One line per path; the rounds alternate them in this order.
  const paths: Path[] = [
    newPath('direct', await connect(everything.url, {})),
    newPath('bare', await connect(bare.url, {}), bare),
    newPath('proxied', await connect(proxy.url, { authorization: `Bearer ${token}` }), proxy),
  ];
  const by = Object.fromEntries(paths.map((p) => [p.name, p])) as Record<PathName, Path>;
  /** `f` of every path, keyed by path name (the JSON results' shape). */
  const perPath = <T>(f: (p: Path) => T) => Object.fromEntries(paths.map((p) => [p.name, f(p)])) as Record<PathName, T>;
  for (const path of paths) {
    const first = await path.client.callTool(CALL);
    path.calls += 1;
    check(first);
    if (unexpected > 0) throw new Error(`${path.name}: echo answered ${JSON.stringify(first)}`);
  }
  const width = Math.max(...paths.map((p) => p.name.length));

  console.log(`mcp-warden proxy overhead per tools/call (echo) — ${opts.quick ? 'QUICK run' : 'full run'}`);
  console.log(
    `machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ` +
      `${machine.os}, load average ${machine.load_1m_before} (1 min) before the run`,
  );
  console.log(`upstream ${everything.url} (server-everything streamableHttp, own process)`);
  console.log(
    `bare     ${bare.url} (bench/proxy/bare-proxy.ts, own process, pid ${bare.pid}; node:http createServer, ` +
      "NOT fastify, with the warden proxy's Upstream pool and relay; no routing, decisions, sessions or audit)",
  );
  console.log(
    `proxy    ${proxy.url} (node src/cli.ts proxy, fastify, own process, ` +
      `pid ${proxy.pid}${profileDir ? ', under --cpu-prof' : ''}; in-process decisions, ` +
      `file audit, memory sessions, catalogue-everything bundle, log level ${opts['log-level']})`,
  );
  console.log('client   @modelcontextprotocol/sdk Client + StreamableHTTPClientTransport in this process\n');

  // Sequential: warm-up, then rounds alternated direct, bare, proxied, direct, …
  const profileFrom = process.hrtime.bigint() / 1000n;
  const proxiedCallsBefore = by.proxied.calls;
  for (const path of paths) {
    for (let i = 0; i < PLAN.warmupCalls; i++) await timedCall(path);
  }
  console.log(
    `1 in flight: ${PLAN.rounds} rounds × ${PLAN.callsPerRound.toLocaleString('en-US')} calls per path, ` +
      `alternated, after ${PLAN.warmupCalls} warm-up calls each`,
  );
  for (let round = 1; round <= PLAN.rounds; round++) {
    for (const path of paths) {
      const samples: number[] = [];
      path.seqCpu.start();
      for (let i = 0; i < PLAN.callsPerRound; i++) samples.push(await timedCall(path));
      path.seqCpu.stop(samples.length);
      path.seq.push(samples);
      const l = latency(samples);
      console.log(
        `  round ${round} ${path.name.padEnd(width)}  p50 ${us(l.p50).padStart(6)} µs  p99 ` +
          `${us(l.p99).padStart(6)} µs  mean ${us(l.mean).padStart(6)} µs`,
      );
    }
  }

  // Concurrent: `concurrency` calls in flight per path, alternated the same way.
  console.log(
    `\n${PLAN.concurrency} in flight: ${PLAN.concRounds} rounds × ${PLAN.concRoundMs / 1000} s per path, ` +
      `alternated, after ${PLAN.concWarmupMs / 1000} s warm-up each`,
  );
  for (const path of paths) await inFlight(path, PLAN.concWarmupMs, PLAN.concurrency);
  for (let round = 1; round <= PLAN.concRounds; round++) {
    for (const path of paths) {
      path.concCpu.start();
      const run = await inFlight(path, PLAN.concRoundMs, PLAN.concurrency);
      path.concCpu.stop(run.samples.length);
      path.conc.push(run);
      const l = latency(run.samples);
      console.log(
        `  round ${round} ${path.name.padEnd(width)}  ${us(run.perSecond).padStart(6)} ` +
          `calls/s  p50 ${us(l.p50).padStart(6)} µs  p99 ${us(l.p99).padStart(6)} µs`,
      );
    }
  }
  const profileTo = process.hrtime.bigint() / 1000n;
  const profiledCalls = by.proxied.calls - proxiedCallsBefore;

  // ---- summary ----
  const seqAll = perPath((p) => latency(p.seq.flat()));
  const seqRoundMedians = perPath((p) => p.seq.map((r) => latency(r).p50));
  const concPerSecond = perPath((p) => p.conc.map((r) => r.perSecond));
  const concMedian = perPath((p) => median(concPerSecond[p.name]));
  const concLatency = perPath((p) => latency(p.conc.flatMap((r) => r.samples)));
  const diffs = DIFFS.map((d) => {
    const [a, b] = [seqAll[d.of], seqAll[d.over]];
    return {
      ...d,
      seq: { p50: a.p50 - b.p50, p90: a.p90 - b.p90, p99: a.p99 - b.p99, mean: a.mean - b.mean },
      perRound: seqRoundMedians[d.of].map((m, i) => m - (seqRoundMedians[d.over][i] as number)),
      conc: {
        p50: concLatency[d.of].p50 - concLatency[d.over].p50,
        p99: concLatency[d.of].p99 - concLatency[d.over].p99,
      },
      ratio: concMedian[d.of] / concMedian[d.over],
      ratios: concPerSecond[d.of].map((x, i) => x / (concPerSecond[d.over][i] as number)),
    };
  });
  const diff = Object.fromEntries(diffs.map((d) => [d.key, d])) as Record<
    (typeof DIFFS)[number]['key'],
    (typeof diffs)[number]
  >;
  // The aim, held against what mcp-warden adds in all and against what it adds over a bare hop.
  const aims = [
    { d: diff.added_us, label: 'added by mcp-warden' },
    { d: diff.authorization_us, label: 'mcp-warden over a bare hop' },
  ].map((a) => ({ ...a, met: a.d.seq.p99 <= AIM_ADDED_P99_US }));
  const loadAfter = round(loadavg()[0] ?? 0, 2);

  const list = (xs: readonly number[]) => xs.map(us).join(', ');
  const pctStr = (x: number) => `${(x * 100).toFixed(1)} %`;
  const seqTitle =
    '1 in flight (sequential awaits), ' +
    `${PLAN.rounds} × ${PLAN.callsPerRound.toLocaleString('en-US')} calls per path, alternated`;
  const seqRows = [
    ...paths.map(
      ({ name }) =>
        `| ${LABEL[name]} ` +
        `| ${[seqAll[name].p50, seqAll[name].p90, seqAll[name].p99, seqAll[name].mean].map(us).join(' | ')} ` +
        `| ${list(seqRoundMedians[name])} |`,
    ),
    ...diffs.map(
      (d) =>
        `| **${d.label}** (${d.of} − ${d.over}) | **${signedUs(d.seq.p50)}** | ${signedUs(d.seq.p90)} ` +
        `| **${signedUs(d.seq.p99)}** | ${signedUs(d.seq.mean)} | ${d.perRound.map(signedUs).join(', ')} |`,
    ),
  ];
  const concRows = [
    ...paths.map(
      (p) =>
        `| ${LABEL[p.name]} | ${us(concMedian[p.name])} | ${list(concPerSecond[p.name])} ` +
        `| ${us(concLatency[p.name].p50)} | ${us(concLatency[p.name].p99)} |`,
    ),
    ...diffs.map(
      (d) =>
        `| ${d.of} / ${d.over} (per round: ${d.ratios.map(pctStr).join(', ')}) ` +
        `| ${pctStr(d.ratio)} | | ${signedUs(d.conc.p50)} | ${signedUs(d.conc.p99)} |`,
    ),
  ];
  const proxies = paths.filter((p) => p.via !== undefined);
  const cpuLines = proxies.map(
    (p) =>
      `  ${p.name} (pid ${p.via?.pid}): ${cpuLine(p.seqCpu.perCall(), '1 in flight')}; ` +
      `${cpuLine(p.concCpu.perCall(), `${PLAN.concurrency} in flight`)}`,
  );
  const timedCalls = paths.reduce((n, p) => n + seqAll[p.name].n + concLatency[p.name].n, 0);
  const machineLine =
    `**Machine:** ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}; ` +
    `load average ${machine.load_1m_before} before the run, ${loadAfter} after (the run alone keeps about 2–3 busy)` +
    `${profileDir ? '; **mcp-warden proxy under --cpu-prof** (figures inflated)' : ''}` +
    `${opts.quick ? '; **--quick**' : ''}`;
  const concTitle =
    `${PLAN.concurrency} calls in flight, ` + `${PLAN.concRounds} × ${PLAN.concRoundMs / 1000} s per path, alternated`;
  const aimLines = aims
    .map(
      ({ d, label, met }) =>
        `- ${label} (${d.of} − ${d.over}): measured ${signedUs(d.seq.p99)} µs (p50 ${signedUs(d.seq.p50)} µs): ` +
        `**${met ? 'met' : 'NOT met'}**`,
    )
    .join('\n');
  const differenceNote =
    "(a difference = the difference of two paths' percentiles over all sequential rounds, " +
    'not a percentile of per-call differences;\n' +
    " the bare proxy is node:http's createServer, the warden proxy fastify: " +
    "fastify's routing, hooks and replies count in the authorization's share)";
  const profiled = profileDir ? ', mcp-warden under the profiler' : '';
  const cpuHow = `/proc/<pid>/stat, ${us(1e6 / CLK_TCK)} µs ticks${profiled}`;
  const noisy =
    Math.max(machine.load_1m_before, loadAfter) >= 1 || machine.cores <= 2
      ? `\nNote: ${machine.cores} cores shared by the load generator, the proxies and server-everything` +
        `${machine.load_1m_before >= 1 ? `, machine already loaded (${machine.load_1m_before})` : ''}: ` +
        'figures are noisy.'
      : '';
  console.log(`
## Summary

${machineLine}

| ${seqTitle} | p50 µs | p90 µs | p99 µs | mean µs | per-round medians µs |
|---|---:|---:|---:|---:|---|
${seqRows.join('\n')}

| ${concTitle} | calls/s (median) | per round | p50 µs | p99 µs |
|---|---:|---|---:|---:|
${concRows.join('\n')}

Aim: ≤ ${us(AIM_ADDED_P99_US)} µs added at p99 on loopback
${aimLines}
${differenceNote}
Proxy CPU per call (${cpuHow}):
${cpuLines.join('\n')}
Checks: ${timedCalls.toLocaleString('en-US')} timed calls, ${unexpected} unexpected results${noisy}`);
  if (unexpected > 0) {
    console.error(`first unexpected result: ${JSON.stringify(firstUnexpected)}`);
    process.exitCode = 1;
  }

  // Stop the proxies now: the warden's audit is flushed and its profile written on exit.
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await Promise.all([proxy.stop(), bare.stop()]);
  const auditFile = join(workDir, 'audit.jsonl');
  const audited = existsSync(auditFile)
    ? readFileSync(auditFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"tools/call"')).length
    : 0;
  console.log(
    `Audit: ${audited.toLocaleString('en-US')} tools/call records in the proxy's trail ` +
      `for ${by.proxied.calls.toLocaleString('en-US')} proxied calls (measured and warm-up)`,
  );

  let profileSummary: ReturnType<typeof summarizeProfile> | undefined;
  let profileFile: string | undefined;
  if (profileDir !== undefined) {
    profileFile = newestProfile(profileDir, proxy.pid);
    if (profileFile === undefined) throw new Error(`no .cpuprofile of pid ${proxy.pid} in ${profileDir}`);
    profileSummary = summarizeProfile(profileFile, { fromUs: Number(profileFrom), toUs: Number(profileTo) });
    const { busyUs, idleUs, functions, areas, parts, windowed } = profileSummary;
    const share = (x: number) => `${((x / busyUs) * 100).toFixed(1)} %`;
    const perCall = (x: number) => (x / profiledCalls).toFixed(1);
    const samples = windowed
      ? 'Samples inside the measured phases only (startup and shutdown left out)'
      : 'All samples (the measuring window did not line up with the profile clock)';
    const busy =
      `busy ${us(busyUs / 1000)} ms, idle ${us(idleUs / 1000)} ms, ` +
      `${profiledCalls.toLocaleString('en-US')} proxied calls ` +
      `→ **${perCall(busyUs)} µs of proxy CPU per call** (sampling every 100 µs; the profiler inflates this).`;
    console.log(`
## Proxy CPU profile (${profileFile})

${samples}: ${busy}

| top 15 by self time | self ms | share of busy | µs per call |
|---|---:|---:|---:|
${functions
  .slice(0, 15)
  .map((f) => `| \`${f.name}\` | ${us(f.us / 1000)} | ${share(f.us)} | ${perCall(f.us)} |`)
  .join('\n')}

| where a proxied call's CPU goes (each sample once, by its stack) | ms | share of busy | µs per call |
|---|---:|---:|---:|
${parts.map((f) => `| ${f.name} | ${us(f.us / 1000)} | ${share(f.us)} | ${perCall(f.us)} |`).join('\n')}

| self time by area | self ms | share of busy | µs per call |
|---|---:|---:|---:|
${areas
  .slice(0, 15)
  .map((f) => `| ${f.name} | ${us(f.us / 1000)} | ${share(f.us)} | ${perCall(f.us)} |`)
  .join('\n')}`);
  }

  if (!opts.quick && profileDir === undefined) {
    mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
    const rounded = (xs: readonly number[], digits = 0) => xs.map((x) => round(x, digits));
    const summary = {
      generated_at: new Date().toISOString(),
      machine: { ...machine, load_1m_after: loadAfter },
      plan: PLAN,
      proxy_log_level: opts['log-level'],
      paths: LABEL,
      bare_proxy:
        'bench/proxy/bare-proxy.ts: node:http createServer (not fastify), ' +
        "the warden proxy's Upstream (undici Pool) and relay, no authorization",
      sequential_us: {
        ...perPath((p) => mapRound(seqAll[p.name])),
        round_medians: perPath((p) => rounded(seqRoundMedians[p.name])),
      },
      // added_us is proxied − direct; bare_hop_us bare − direct; authorization_us proxied − bare.
      ...Object.fromEntries(
        diffs.map((d) => [
          d.key,
          {
            p50: round(d.seq.p50),
            p90: round(d.seq.p90),
            p99: round(d.seq.p99),
            mean: round(d.seq.mean),
            per_round_median: rounded(d.perRound),
          },
        ]),
      ),
      concurrent: {
        in_flight: PLAN.concurrency,
        calls_per_s: {
          ...perPath((p) => round(concMedian[p.name])),
          per_round: perPath((p) => rounded(concPerSecond[p.name])),
        },
        latency_us: perPath((p) => mapRound(concLatency[p.name])),
        proxied_over_direct: round(diff.added_us.ratio, 3),
        per_round_ratios: rounded(diff.added_us.ratios, 3),
        ratios: Object.fromEntries(
          diffs.map((d) => [`${d.of}_over_${d.over}`, { median: round(d.ratio, 3), per_round: rounded(d.ratios, 3) }]),
        ),
      },
      proxy_cpu_us_per_call: {
        sequential: cpuRound(by.proxied.seqCpu.perCall()),
        concurrent: cpuRound(by.proxied.concCpu.perCall()),
      },
      cpu_us_per_call: Object.fromEntries(
        proxies.map((p) => [
          p.name,
          { sequential: cpuRound(p.seqCpu.perCall()), concurrent: cpuRound(p.concCpu.perCall()) },
        ]),
      ),
      aim: {
        added_p99_us_at_most: AIM_ADDED_P99_US,
        measured: round(diff.added_us.seq.p99),
        met: aims[0]!.met,
        over_bare: { measured: round(diff.authorization_us.seq.p99), met: aims[1]!.met },
      },
      checks: { unexpected_results: unexpected, audited_tool_calls: audited, proxied_calls: by.proxied.calls },
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
  if (bare !== undefined) console.error(`bare proxy output (last 4 KiB):\n${bare.output()}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}

function cpuLine(t: CpuTimes | undefined, label: string): string {
  if (t === undefined) return `${label} n/a`;
  return (
    `${us(t.total)} µs at ${label} (event-loop thread ${us(t.main)} µs, ` +
    `other threads ${us(t.total - t.main)} µs; system ${us(t.system)} µs of the total)`
  );
}

function cpuRound(t: CpuTimes | undefined): Record<string, number> | null {
  return t === undefined ? null : { total: round(t.total), main_thread: round(t.main), system: round(t.system) };
}

function mapRound(l: Latency): Record<string, number> {
  return { p50: round(l.p50), p90: round(l.p90), p99: round(l.p99), mean: round(l.mean), calls: l.n };
}
