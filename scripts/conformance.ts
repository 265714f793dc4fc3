/**
 * Runs the MCP conformance suite's server scenarios (@modelcontextprotocol/conformance), one
 * suite per era it covers, each against an upstream that speaks that era, directly and, with
 * --proxy or --through, through a proxy in front of it, and prints a markdown table per era:
 *
 *   2025        the 2025 eras' active suite against @modelcontextprotocol/server-everything;
 *   2026-07-28  every scenario of MCP 2026-07-28 (`--suite all --spec-version 2026-07-28`)
 *               against a v2 SDK upstream serving the suite's own fixtures
 *               (test/helpers/conformance-upstream-v2.ts).
 *
 *   node scripts/conformance.ts [--era 2025|2026-07-28] [--suite active|all|pending] [--verbose]
 *     [--proxy | --through '<command with {upstream}>'] [--proxy-url-from '<regex with one group>']
 *
 * --era       one era only; default: every era.
 * --suite     replaces the era's own suite selection (`active` for 2025, `all` for 2026-07-28).
 * --proxy     mcp-warden's own proxy (dev mode, permit-all policy, a dev token): `npm run conformance`.
 * --through   the proxy's command, split on whitespace (no shell, no quoting); `{upstream}` is
 *             replaced by the era's upstream URL, e.g.
 *             'node src/cli.ts proxy --upstream {upstream} --config var/conformance-proxy.yaml'
 * --proxy-url-from  how to find the proxy's URL in its stdout; default `proxy listening on (http\S+)`.
 * CONFORMANCE_TOKEN (env)  a bearer token added to every request the suite sends the proxy: the
 *             suite itself has no way to send an Authorization header (see docs/mcp.md, Conformance).
 *
 * The suite needs Node 24 (it imports `fs.globSync`): run it with the `node` of node_modules/.bin.
 *
 * Exit code: 0 when the suites ran (server-everything is not the suite's reference server, so
 * some 2025 scenarios fail directly; see docs/mcp.md), 1 when a scenario that passes directly
 * fails through the proxy in some era, 2 when a run did not complete.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startConformanceUpstream } from '../test/helpers/conformance-upstream-v2.ts';
import { startCountingTap, startEverything } from '../test/helpers/everything.ts';
import { ROOT } from '../test/helpers/paths.ts';

const CONFORMANCE = `${ROOT}node_modules/@modelcontextprotocol/conformance/dist/index.js`;

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO';
  errorMessage?: string;
}

export interface ScenarioResult {
  name: string;
  passedChecks: number;
  failedChecks: number;
  warnings: number;
  /** The first failing check's message, on one line. */
  cause?: string;
}

export interface SuiteRun {
  label: string;
  scenarios: ScenarioResult[];
  exitCode: number | null;
  ms: number;
}

/** One era the suite covers: which of its scenarios run, and the upstream they run against. */
export interface Era {
  readonly name: '2025' | '2026-07-28';
  readonly title: string;
  /** The suite's scenario selection (`--suite`, `--spec-version`). */
  readonly args: readonly string[];
  start(): Promise<{ readonly url: string; stop(): Promise<void> }>;
}

/**
 * The eras, oldest first. The 2025 run keeps the suite's default selection (its active
 * suite, at the 2025 wire) against server-everything, which speaks only the 2025 eras (SDK
 * 1.x). The 2026-07-28 run takes every scenario of that revision (pending ones included,
 * as the v2 SDK's own conformance leg does) against an upstream that serves the suite's
 * fixtures, so that every scenario can pass directly and a failure through the proxy says
 * something about the proxy. The suite filters extension scenarios (tasks) out at a spec
 * version.
 */
export const ERAS: readonly Era[] = [
  {
    name: '2025',
    title: '2025 eras (2025-03-26, 2025-06-18, 2025-11-25): server-everything',
    args: ['--suite', 'active'],
    start: () => startEverything(),
  },
  {
    name: '2026-07-28',
    title: "2026-07-28: a v2 SDK upstream with the suite's fixtures",
    args: ['--suite', 'all', '--spec-version', '2026-07-28'],
    start: startConformanceUpstream,
  },
];

// biome-ignore lint/suspicious/noControlCharactersInRegex: an ANSI colour code starts with ESC.
const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');
const oneLine = (text: string, max = 140) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/**
 * Runs `conformance server --url <url>` and reads its results. The CLI has no JSON summary:
 * the scenario list and counts come from its `=== SUMMARY ===` lines (every scenario, even
 * one that threw), the failure causes from the `checks.json` it writes per scenario with -o.
 */
export async function runSuite(
  label: string,
  url: string,
  options: { args?: readonly string[]; verbose?: boolean } = {},
): Promise<SuiteRun> {
  const outDir = await mkdtemp(join(tmpdir(), 'conformance-'));
  const started = Date.now();
  try {
    const args = [CONFORMANCE, 'server', '--url', url, ...(options.args ?? ['--suite', 'active']), '-o', outDir];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5 * 60_000);
    const exitCode = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    clearTimeout(timer);
    output = stripAnsi(output);
    if (options.verbose) process.stderr.write(output);

    const summary = output.split('=== SUMMARY ===')[1];
    if (summary === undefined)
      throw new Error(`conformance run against ${url} did not complete (exit ${exitCode}):\n${output.slice(-2000)}`);
    const scenarios: ScenarioResult[] = [];
    for (const [, name, passed, failed] of summary.matchAll(/^[✓✗] (\S+): (\d+) passed, (\d+) failed$/gm)) {
      scenarios.push({ name: name!, passedChecks: Number(passed), failedChecks: Number(failed), warnings: 0 });
    }

    // Result folders are named server-<scenario>-<timestamp>.
    for (const dir of await readdir(outDir)) {
      const name = /^server-(.+)-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/.exec(dir)?.[1];
      const scenario = scenarios.find((s) => s.name === name);
      if (!scenario) continue;
      const checks = JSON.parse(await readFile(join(outDir, dir, 'checks.json'), 'utf8')) as Check[];
      scenario.warnings = checks.filter((c) => c.status === 'WARNING').length;
      const failure = checks.find((c) => c.status === 'FAILURE');
      if (failure) {
        // The SDK repeats the JSON-RPC error prefix ("MCP error -32602: MCP error -32602: …").
        const message = (failure.errorMessage ?? 'failed').replace(/(MCP error -?\d+: )\1+/g, '$1');
        scenario.cause = oneLine(failure.id === name ? message : `${failure.id}: ${message}`);
      }
    }
    for (const scenario of scenarios) {
      // A scenario that threw has no checks.json; the CLI printed why.
      if (scenario.failedChecks > 0 && !scenario.cause) {
        const why = new RegExp(`Failed to run scenario ${scenario.name}:(.*)`).exec(output)?.[1];
        scenario.cause = oneLine(why ?? 'no checks.json written (run with --verbose)');
      }
    }
    return { label, scenarios, exitCode, ms: Date.now() - started };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** Runs the suite through a proxy at `proxyUrl`; with a token, a tap in front of the proxy adds it to every request. */
export async function runThroughProxy(
  proxyUrl: string,
  options: { token?: string; args?: readonly string[]; verbose?: boolean } = {},
): Promise<SuiteRun> {
  if (!options.token) return runSuite('through proxy', proxyUrl, options);
  const tap = await startCountingTap(proxyUrl, { headers: { authorization: `Bearer ${options.token}` } });
  try {
    return await runSuite('through proxy', tap.url, options);
  } finally {
    await tap.stop();
  }
}

/** Starts the --through command and waits for its URL line on stdout. */
export async function startProxy(
  template: string,
  upstream: string,
  urlFrom: RegExp,
): Promise<{ url: string; stop(): Promise<void> }> {
  const [command, ...args] = template
    .trim()
    .split(/\s+/)
    .map((part) => part.replaceAll('{upstream}', upstream));
  const child = spawn(command!, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`proxy ${why}; its output:\n${output.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail('printed no URL within 30 s'), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const found = urlFrom.exec(output)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code})`));
    child.once('error', (error) => fail(`failed to start: ${error.message}`));
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Whether a scenario ran and none of its checks failed. */
export const passed = (s: ScenarioResult | undefined): boolean => s !== undefined && s.failedChecks === 0;

/** The scenarios that pass in `direct` and fail (or are missing) in `proxied`. */
export function regressions(direct: SuiteRun, proxied: SuiteRun): ScenarioResult[] {
  return direct.scenarios.filter((s) => passed(s) && !passed(proxied.scenarios.find((p) => p.name === s.name)));
}
const mark = (s: ScenarioResult | undefined) => (s === undefined ? '–' : passed(s) ? '✓' : '✗');

/** Markdown: a summary row per run, then one row per scenario with the failure cause. */
export function markdown(runs: SuiteRun[]): string {
  const lines = [
    '| target | scenarios passed | scenarios failed | total | checks passed | checks failed | warnings | time |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const run of runs) {
    const ok = run.scenarios.filter((s) => passed(s)).length;
    const sum = (key: 'passedChecks' | 'failedChecks' | 'warnings') => run.scenarios.reduce((n, s) => n + s[key], 0);
    lines.push(
      `| ${run.label} | ${ok} | ${run.scenarios.length - ok} | ${run.scenarios.length} | ${sum('passedChecks')} ` +
        `| ${sum('failedChecks')} | ${sum('warnings')} | ${(run.ms / 1000).toFixed(1)} s |`,
    );
  }
  lines.push(
    '',
    `| scenario | ${runs.map((r) => r.label).join(' | ')} | cause of failure |`,
    `|---|${runs.map(() => ':-:|').join('')}---|`,
  );
  for (const { name } of runs[0]?.scenarios ?? []) {
    const results = runs.map((run) => run.scenarios.find((s) => s.name === name));
    // The direct cause, unless the proxy fails differently (then both).
    const causes = [...new Set(results.map((s) => (s && !passed(s) ? s.cause : undefined)).filter(Boolean))];
    const each = (s: (typeof results)[number], i: number) => `${runs[i]!.label}: ${s?.cause ?? '–'}`;
    const cause = causes.length > 1 ? results.map(each).join('; ') : (causes[0] ?? '');
    lines.push(`| ${name} | ${results.map(mark).join(' | ')} | ${cause.replaceAll('|', '\\|')} |`);
  }
  return lines.join('\n');
}

/**
 * `--proxy`: mcp-warden's own proxy in dev mode with the permit-all fixture policy (every
 * request allowed, every listed name shown, every tool granted on demand), a fresh audit
 * file, and a dev token bound to its resource — so that any failure it adds is the proxy's.
 */
export async function ownProxySetup(): Promise<{ command: string; token: string }> {
  const { existsSync, writeFileSync, mkdtempSync } = await import('node:fs');
  const { loadDevIssuer } = await import('../src/identity/dev-issuer.ts');
  const bundle = `${ROOT}var/test-bundles/permit-all.tar.gz`;
  if (!existsSync(bundle)) (await import('../test/global-setup.ts')).default();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-conformance-'));
  // The resource is the endpoint's own URL (RFC 9728 §3.3), so the port is chosen here.
  const port = await (await import('../src/cli/proxy.ts')).freePort('127.0.0.1');
  const resource = `http://127.0.0.1:${port}/mcp`;
  const config = {
    server: { dev: true, dev_key_file: join(dir, 'dev-key.json'), log_level: 'warn' },
    audit: { file: join(dir, 'audit.jsonl'), checkpoint_key_file: join(dir, 'checkpoint.json') },
    policy: { bundle },
    proxy: { port, resource },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const issuer = await loadDevIssuer(config.server.dev_key_file);
  const token = await issuer.mint({ sub: 'conformance', audience: resource, ttl_seconds: 3600 });
  return { command: `node ${ROOT}src/cli.ts proxy --upstream {upstream} --config ${join(dir, 'config.json')}`, token };
}

/** How the proxied run of an era reaches its proxy. */
export interface Through {
  /** The proxy's command, with `{upstream}` for the era's upstream URL. */
  readonly command: string;
  /** How to find the proxy's URL in its stdout. */
  readonly urlFrom: RegExp;
  /** A bearer token a tap adds to every request of the suite. */
  readonly token?: string | undefined;
}

/** The runs of one era: directly, then (with `through`) through a proxy started for it. */
export interface EraRuns {
  readonly era: Era;
  readonly direct: SuiteRun;
  readonly proxied?: SuiteRun;
}

/** Starts the era's upstream, runs the suite against it directly and through the proxy, and stops both. */
export async function runEra(
  era: Era,
  options: { through?: Through; suite?: string; verbose?: boolean; log?: (line: string) => void } = {},
): Promise<EraRuns> {
  const log = options.log ?? (() => undefined);
  const args = options.suite === undefined ? era.args : withSuite(era.args, options.suite);
  const upstream = await era.start();
  try {
    log(`${era.name}: upstream at ${upstream.url}`);
    const direct = await runSuite('direct', upstream.url, { args, verbose: options.verbose });
    if (options.through === undefined) return { era, direct };
    const { command, urlFrom, token } = options.through;
    const proxy = await startProxy(command, upstream.url, urlFrom);
    try {
      const auth = token ? ' (bearer token added by a tap)' : ' (no token: the suite sends no Authorization)';
      log(`${era.name}: proxy at ${proxy.url}${auth}`);
      const proxied = await runThroughProxy(proxy.url, { token, args, verbose: options.verbose });
      return { era, direct, proxied };
    } finally {
      await proxy.stop();
    }
  } finally {
    await upstream.stop();
  }
}

function withSuite(args: readonly string[], suite: string): string[] {
  const at = args.indexOf('--suite');
  return at < 0 ? ['--suite', suite, ...args] : args.map((arg, i) => (i === at + 1 ? suite : arg));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      era: { type: 'string' },
      through: { type: 'string' },
      proxy: { type: 'boolean', default: false },
      'proxy-url-from': { type: 'string', default: 'proxy listening on (http\\S+)' },
      suite: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const eras = ERAS.filter((era) => values.era === undefined || era.name === values.era);
  if (eras.length === 0) throw new Error(`unknown era ${values.era}; the eras: ${ERAS.map((e) => e.name).join(', ')}`);
  let failing = 0;
  for (const era of eras) {
    // A proxy of its own per era: its audit file and probe of the upstream's eras start fresh.
    const own = values.proxy ? await ownProxySetup() : undefined;
    const command = own?.command ?? values.through;
    const through =
      command === undefined
        ? undefined
        : {
            command,
            urlFrom: new RegExp(values['proxy-url-from']),
            token: own?.token ?? process.env.CONFORMANCE_TOKEN,
          };
    const { direct, proxied } = await runEra(era, {
      through,
      suite: values.suite,
      verbose: values.verbose,
      log: (line) => console.error(line),
    });
    console.log(`## ${era.title}\n\n${markdown(proxied === undefined ? [direct] : [direct, proxied])}\n`);
    const lost = proxied === undefined ? [] : regressions(direct, proxied);
    if (lost.length > 0) {
      failing += lost.length;
      console.error(`${era.name}: pass directly, fail through the proxy: ${lost.map((s) => s.name).join(', ')}`);
    }
  }
  return failing > 0 ? 1 : 0;
}

if (import.meta.main) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 2;
    },
  );
}
