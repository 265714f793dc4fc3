// Side by side over HTTP (issue 8): the same autocannon load, rounds alternated A B C D …,
// against mcp-warden's `POST /v1/decide` (everything on), OPA's server on the same Rego,
// the Cerbos PDP on an equivalent resource policy, and a fastify hello-world as the
// ceiling. Every server runs in its own process on loopback, started once.
//
//   node bench/compare/http.ts [--quick] [--gomaxprocs=N]
//
// (bench/compare/run.ts runs this and bench/compare/in-process.ts together.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedisServer, type RedisServer } from '../../test/helpers/redis.ts';
import { startServer } from '../lib/child.ts';
import { BENCH_ISSUER, BENCH_SERVER, createBenchIssuer } from '../lib/issuer.ts';
import { runLoad, type LoadOptions, type LoadRun, type LoadTarget } from '../lib/load.ts';
import { toolCallRequest } from '../lib/request.ts';
import { median } from '../lib/stats.ts';
import { fmtInt, fmtMs, fmtPct, parseArgs } from './lib/cli.ts';
import { freePort, treeMemory, runCommand, startProc } from './lib/proc.ts';
import { cerbosCheckBody, COMPARE_CLAIMS, createCompareCore, requestFacts } from './lib/scenario.ts';
import { CERBOS_BIN, CERBOS_DIR, goEnv, OPA_BIN, POLICIES_DIR, ROOT } from './lib/tools.ts';

export interface HttpCompareOptions extends LoadOptions {
  rounds: number;
  warmupSeconds: number;
  gomaxprocs?: number | undefined;
}

export const HTTP_FULL: HttpCompareOptions = {
  connections: 32,
  pipelining: 1,
  durationSeconds: 8,
  rounds: 5,
  warmupSeconds: 2,
};
export const HTTP_QUICK: HttpCompareOptions = {
  connections: 32,
  pipelining: 1,
  durationSeconds: 2,
  rounds: 2,
  warmupSeconds: 1,
};

export interface HttpSystem {
  readonly key: 'warden' | 'warden2' | 'opa' | 'cerbos' | 'hello';
  readonly label: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** VmHWM of the server process at the end of the run, and VmRSS once it was ready. */
  readonly peakRssMb: number;
  readonly idleRssMb: number;
  readonly responses: number;
  /** non-2xx + errors + timeouts + bodies without the expected answer, over all rounds. */
  readonly bad: number;
  readonly rounds: readonly LoadRun[];
}

export interface HttpCompareResult {
  readonly options: HttpCompareOptions;
  readonly systems: readonly HttpSystem[];
  readonly checks: readonly string[];
}

interface Server {
  key: HttpSystem['key'];
  label: string;
  pid: number;
  target: LoadTarget;
  /** Asserts one answer is the expected allow; answers what was checked. */
  verify(): Promise<string>;
  stop(): Promise<void>;
}

export async function runHttpCompare(
  options: HttpCompareOptions,
  log: (line: string) => void = () => {},
): Promise<HttpCompareResult> {
  // The policy input decide() builds for the request: what OPA and Cerbos are given.
  const core = await createCompareCore();
  const input = core.input;
  await core.close();
  const facts = requestFacts(input);

  const dir = mkdtempSync(join(tmpdir(), 'warden-compare-http-'));
  const servers: Server[] = [];
  const checks: string[] = [];
  let redis: RedisServer | undefined;
  try {
    // The Cerbos policy's own tests (the bench request allowed, its neighbours denied).
    const compiled = await runCommand(CERBOS_BIN, ['compile', join(CERBOS_DIR, 'policies')]);
    checks.push(`\`cerbos compile\`: ${/(\d+) tests executed \[(.*?)\]/.exec(compiled)?.[0] ?? 'policies compiled'}`);

    redis = await startRedisServer();
    servers.push(await startWarden(dir, log));
    servers.push(await startWarden(dir, log, { workers: 2, redisUrl: redis.url }));
    servers.push(await startOpa(input, options.gomaxprocs));
    servers.push(await startCerbos(facts, options.gomaxprocs));
    servers.push(await startHello());
    for (const server of servers) checks.push(await server.verify());
    for (const line of checks) log(`check: ${line}`);
    const idle = new Map(servers.map((s) => [s.key, treeMemory(s.pid).rssKb]));

    for (const server of servers) await runLoad(server.target, { ...options, durationSeconds: options.warmupSeconds });
    const runs = new Map<string, LoadRun[]>(servers.map((s) => [s.key, []]));
    for (let round = 1; round <= options.rounds; round++) {
      for (const server of servers) {
        const run = await runLoad(server.target, options);
        runs.get(server.key)!.push(run);
        log(
          `round ${round} ${server.key.padEnd(7)} ${fmtInt(run.requestsPerSecond).padStart(7)} ` +
            `req/s  p50 ${fmtMs(run.p50Ms)} ms  p99 ${fmtMs(run.p99Ms)} ms` +
            `  non-2xx ${run.non2xx}  errors ${run.errors}  timeouts ${run.timeouts}  mismatches ${run.mismatches}`,
        );
      }
    }
    const systems = servers.map((s): HttpSystem => {
      const rounds = runs.get(s.key)!;
      const sum = (pick: (r: LoadRun) => number) => rounds.reduce((t, r) => t + pick(r), 0);
      return {
        key: s.key,
        label: s.label,
        requestsPerSecond: median(rounds.map((r) => r.requestsPerSecond)),
        p50Ms: median(rounds.map((r) => r.p50Ms)),
        p99Ms: median(rounds.map((r) => r.p99Ms)),
        peakRssMb: treeMemory(s.pid).peakKb / 1024,
        idleRssMb: (idle.get(s.key) ?? 0) / 1024,
        responses: sum((r) => r.responses),
        bad: sum((r) => r.non2xx + r.errors + r.timeouts + r.mismatches),
        rounds,
      };
    });
    return { options, systems, checks };
  } finally {
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `node src/cli.ts serve --config <file>`: an issuer trusted through a JWKS file (at+jwt
 * required), the one MCP server allowed, memory sessions, the file audit with its signed
 * checkpoints, policy hot reload on. No caller API keys (loopback, as bench/decide.ts):
 * bench/lib/load.ts sends no Authorization header.
 */
async function startWarden(
  dir: string,
  log: (line: string) => void,
  cluster?: { workers: number; redisUrl: string },
): Promise<Server> {
  const issuer = await createBenchIssuer();
  const port = await freePort();
  const name = cluster === undefined ? 'warden' : `warden${cluster.workers}`;
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(issuer.config.jwks));
  const config = {
    server: { host: '127.0.0.1', port, log_level: 'warn', workers: cluster?.workers ?? 1 },
    identity: {
      issuers: [
        { issuer: BENCH_ISSUER, jwks_file: join(dir, 'jwks.json'), algorithms: ['ES256'], require_typ: 'at+jwt' },
      ],
      servers: [BENCH_SERVER],
    },
    session: cluster === undefined ? { store: 'memory' } : { store: 'redis', redis: { url: cluster.redisUrl } },
    audit: {
      sink: 'file',
      file: join(dir, `${name}-audit.jsonl`),
      checkpoint_key_file: join(dir, 'checkpoint.jwk.json'),
    },
  };
  const configFile = join(dir, `${name}.json`);
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const base = `http://127.0.0.1:${port}`;
  const proc = await startProc({
    name: name === 'warden' ? 'mcp-warden' : `mcp-warden (${cluster?.workers} workers)`,
    command: process.execPath,
    args: [join(ROOT, 'src/cli.ts'), 'serve', '--config', configFile],
    cwd: ROOT,
    readyUrl: `${base}/health`,
  });
  try {
    const token = await issuer.mint(COMPARE_CLAIMS);
    const created = await fetch(`${base}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, server: BENCH_SERVER }),
    });
    const session = (await created.json()) as { id?: unknown; scope?: unknown };
    if (created.status !== 201 || typeof session.id !== 'string')
      throw new Error(`POST /v1/sessions answered ${created.status}: ${JSON.stringify(session)}`);
    log(`mcp-warden session ${session.id.slice(0, 12)}… scope ${JSON.stringify(session.scope)}`);
    const body = JSON.stringify(toolCallRequest(token, session.id));
    const url = `${base}/v1/decide`;
    return {
      key: name === 'warden' ? 'warden' : 'warden2',
      label:
        cluster === undefined
          ? 'mcp-warden `POST /v1/decide` (token + session + policy + file audit)'
          : `mcp-warden, ${cluster.workers} workers, Redis sessions (same pipeline; RSS summed over the processes)`,
      pid: proc.pid,
      target: { name, url, method: 'POST', body, expectInBody: '"allow":true' },
      async verify() {
        const answer = await postJson(url, body);
        if (answer.status !== 200 || (answer.json as { allow?: unknown }).allow !== true)
          throw new Error(`mcp-warden did not allow: ${answer.status} ${answer.text}`);
        return 'mcp-warden /v1/decide → 200, allow: true';
      },
      stop: () => proc.stop(),
    };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/** `opa run --server` on the policies folder; the decision query of the same policy input. */
async function startOpa(input: unknown, gomaxprocs: number | undefined): Promise<Server> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = await startProc({
    name: 'opa',
    command: OPA_BIN,
    args: [
      'run',
      '--server',
      '--addr',
      `127.0.0.1:${port}`,
      '--log-level',
      'error',
      '--disable-telemetry',
      POLICIES_DIR,
    ],
    env: goEnv(gomaxprocs),
    readyUrl: `${base}/health`,
  });
  const url = `${base}/v1/data/mcp/authz/decision`;
  const body = JSON.stringify({ input });
  return {
    key: 'opa',
    label: '`opa run --server`, `POST /v1/data/mcp/authz/decision` (same Rego, same input)',
    pid: proc.pid,
    target: { name: 'opa', url, method: 'POST', body, expectInBody: '"allow":true' },
    async verify() {
      const answer = await postJson(url, body);
      const result = (answer.json as { result?: { allow?: unknown; reasons?: unknown } }).result;
      if (answer.status !== 200 || result?.allow !== true)
        throw new Error(`OPA did not allow: ${answer.status} ${answer.text}`);
      return 'OPA /v1/data/mcp/authz/decision → 200, result.allow: true';
    },
    stop: () => proc.stop(),
  };
}

/** The Cerbos PDP on bench/compare/cerbos/ (disk storage), `POST /api/check/resources`. */
async function startCerbos(facts: ReturnType<typeof requestFacts>, gomaxprocs: number | undefined): Promise<Server> {
  const [http, grpc] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${http}`;
  const proc = await startProc({
    name: 'cerbos',
    command: CERBOS_BIN,
    args: [
      'server',
      `--config=${join(CERBOS_DIR, 'config.yaml')}`,
      '--log-level=error',
      `--set=server.httpListenAddr=127.0.0.1:${http}`,
      `--set=server.grpcListenAddr=127.0.0.1:${grpc}`,
      `--set=storage.disk.directory=${join(CERBOS_DIR, 'policies')}`,
    ],
    env: { ...goEnv(gomaxprocs), CERBOS_NO_TELEMETRY: '1' },
    readyUrl: `${base}/_cerbos/health`,
  });
  const url = `${base}/api/check/resources`;
  const body = JSON.stringify(cerbosCheckBody(facts));
  return {
    key: 'cerbos',
    label: 'Cerbos PDP `POST /api/check/resources` (equivalent resource policy)',
    pid: proc.pid,
    target: { name: 'cerbos', url, method: 'POST', body, expectInBody: '"tools/call":"EFFECT_ALLOW"' },
    async verify() {
      const answer = await postJson(url, body);
      const effect = (answer.json as { results?: { actions?: Record<string, unknown> }[] }).results?.[0]?.actions?.[
        'tools/call'
      ];
      if (answer.status !== 200 || effect !== 'EFFECT_ALLOW')
        throw new Error(`Cerbos did not allow: ${answer.status} ${answer.text}`);
      return 'Cerbos /api/check/resources → 200, tools/call: EFFECT_ALLOW';
    },
    stop: () => proc.stop(),
  };
}

/** bench/servers/hello.ts: the ceiling of a Node HTTP server on this machine. */
async function startHello(): Promise<Server> {
  const server = await startServer(fileURLToPath(new URL('../servers/hello.ts', import.meta.url)));
  const url = `http://127.0.0.1:${server.port}/`;
  return {
    key: 'hello',
    label: 'fastify hello-world `GET /` (ceiling)',
    pid: server.pid as number,
    target: { name: 'hello', url, method: 'GET', expectInBody: '"hello":"world"' },
    async verify() {
      const response = await fetch(url);
      const json = (await response.json()) as { hello?: unknown };
      if (response.status !== 200 || json.hello !== 'world')
        throw new Error(`hello answered ${response.status} ${JSON.stringify(json)}`);
      return 'hello → 200, {"hello":"world"}';
    },
    stop: () => server.stop(),
  };
}

async function postJson(url: string, body: string): Promise<{ status: number; text: string; json: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // left null: the checks fail with the text
  }
  return { status: response.status, text: text.slice(0, 500), json };
}

/** The result as a Markdown table for docs/benchmarks.md. */
export function httpMarkdown(r: HttpCompareResult): string {
  const o = r.options;
  const by = (key: HttpSystem['key']) => r.systems.find((s) => s.key === key)!;
  const opa = by('opa');
  const hello = by('hello');
  const warden = by('warden');
  const perRound = (a: HttpSystem, b: HttpSystem) =>
    a.rounds.map((run, i) => fmtPct(run.requestsPerSecond / (b.rounds[i]?.requestsPerSecond ?? NaN))).join(', ');
  return [
    `| HTTP on loopback (autocannon, ${o.connections} connections, pipelining ${o.pipelining}, ` +
      `${o.rounds} × ${o.durationSeconds} s per server, alternated) | req/s (median) ` +
      '| p50 ms | p99 ms | peak RSS MB | vs OPA server | vs hello-world |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.systems.map(
      (s) =>
        `| ${s.label} | ${fmtInt(s.requestsPerSecond)} | ${fmtMs(s.p50Ms)} | ${fmtMs(s.p99Ms)} ` +
        `| ${s.peakRssMb.toFixed(0)} | ${fmtPct(s.requestsPerSecond / opa.requestsPerSecond)} ` +
        `| ${fmtPct(s.requestsPerSecond / hello.requestsPerSecond)} |`,
    ),
    '',
    `Per round, warden / OPA: ${perRound(warden, opa)}; warden / Cerbos: ${perRound(warden, by('cerbos'))}; ` +
      `warden / hello: ${perRound(warden, hello)}; 2 workers / hello: ${perRound(by('warden2'), hello)}.`,
    `Idle RSS once ready (MB): ${r.systems.map((s) => `${s.key} ${s.idleRssMb.toFixed(0)}`).join(', ')}; ` +
      'peak RSS is VmHWM of the server process at the end of the run.',
    '',
    `Checks before timing: ${r.checks.join('; ')}. During the run: ` +
      `${r.systems.map((s) => `${s.key} ${fmtInt(s.responses)} responses, ${s.bad} bad`).join('; ')} (bad ` +
      '= non-2xx, errors, timeouts or a body without the expected allow).',
  ].join('\n');
}

/** Responses that were not the expected allow, over every system: the figures are void unless 0. */
export function httpBadResponses(r: HttpCompareResult): number {
  return r.systems.reduce((t, s) => t + s.bad, 0);
}

if (import.meta.main) {
  const args = parseArgs(process.argv.slice(2));
  const options = { ...(args.quick ? HTTP_QUICK : HTTP_FULL), gomaxprocs: args.gomaxprocs };
  const result = await runHttpCompare(options, (line) => console.log(`  ${line}`));
  console.log(`\n${httpMarkdown(result)}`);
  if (httpBadResponses(result) > 0) {
    console.error('\nsome responses were not the expected allow — the HTTP figures are not valid');
    process.exitCode = 1;
  }
}
