import { fileURLToPath } from 'node:url';
import { startServer, type ChildServer } from './child.ts';
import { BENCH_SERVER, createBenchIssuer } from './issuer.ts';
import { runLoad, type LoadOptions, type LoadRun, type LoadTarget } from './load.ts';
import { toolCallRequest } from './request.ts';
import { median } from './stats.ts';

const script = (name: string): string => fileURLToPath(new URL(`../servers/${name}`, import.meta.url));

export interface HttpOptions extends LoadOptions {
  rounds: number;
  warmupSeconds: number;
}

export interface HttpTargetResult {
  /** Medians over the rounds. */
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Sums over the rounds. */
  readonly responses: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly mismatches: number;
  readonly rounds: readonly LoadRun[];
}

export interface HttpResult {
  readonly warden: HttpTargetResult;
  readonly hello: HttpTargetResult;
  readonly options: HttpOptions;
}

/**
 * Starts the service and a fastify hello-world in child processes, then loads them
 * alternately (warden, hello, warden, hello, …) with the same autocannon settings.
 */
export async function runHttp(options: HttpOptions, log: (line: string) => void = () => {}): Promise<HttpResult> {
  const issuer = await createBenchIssuer();
  const servers: ChildServer[] = [];
  try {
    const warden = await startServer(script('warden.ts'), { BENCH_ISSUER_CONFIG: JSON.stringify(issuer.config) });
    servers.push(warden);
    const hello = await startServer(script('hello.ts'));
    servers.push(hello);

    const token = await issuer.mint();
    const sessionId = await createSession(`http://127.0.0.1:${warden.port}`, token);
    const targets: LoadTarget[] = [
      {
        name: 'warden POST /v1/decide',
        url: `http://127.0.0.1:${warden.port}/v1/decide`,
        method: 'POST',
        body: JSON.stringify(toolCallRequest(token, sessionId)),
        expectInBody: '"allow":true',
      },
      { name: 'hello GET /', url: `http://127.0.0.1:${hello.port}/`, method: 'GET', expectInBody: '"hello":"world"' },
    ];

    for (const target of targets) await runLoad(target, { ...options, durationSeconds: options.warmupSeconds });
    const runs: LoadRun[][] = [[], []];
    for (let round = 1; round <= options.rounds; round++) {
      for (const [i, target] of targets.entries()) {
        const run = await runLoad(target, options);
        runs[i]?.push(run);
        log(
          `round ${round} ${target.name.padEnd(22)} ` +
            `${Math.round(run.requestsPerSecond).toLocaleString('en-US').padStart(7)} req/s` +
            `  p50 ${run.p50Ms.toFixed(2)} ms  p99 ${run.p99Ms.toFixed(2)} ms` +
            `  non-2xx ${run.non2xx}  errors ${run.errors}  mismatches ${run.mismatches}`,
        );
      }
    }
    return { warden: summarize(runs[0] ?? []), hello: summarize(runs[1] ?? []), options };
  } finally {
    for (const server of servers) await server.stop();
  }
}

async function createSession(base: string, token: string): Promise<string> {
  const response = await fetch(`${base}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, server: BENCH_SERVER }),
  });
  const body = (await response.json()) as { id?: unknown };
  if (response.status !== 201 || typeof body.id !== 'string') {
    throw new Error(`POST /v1/sessions answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.id;
}

function summarize(rounds: readonly LoadRun[]): HttpTargetResult {
  const sum = (pick: (r: LoadRun) => number) => rounds.reduce((total, r) => total + pick(r), 0);
  return {
    requestsPerSecond: median(rounds.map((r) => r.requestsPerSecond)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    responses: sum((r) => r.responses),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    mismatches: sum((r) => r.mismatches),
    rounds,
  };
}
