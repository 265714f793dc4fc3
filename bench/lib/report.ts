import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname } from 'node:path';
import type { HttpResult, HttpTargetResult } from './http.ts';
import type { InProcessResult } from './inprocess.ts';

/** The aims of docs/benchmarks.md. */
export const AIMS = { inProcessPerSecond: 25_000, httpShareOfHello: 0.4 } as const;

export interface Summary {
  readonly generated_at: string;
  /** `load_1m_before`: the 1-minute load average before the run (other work on the machine). */
  readonly machine: { cpu: string; cores: number; node: string; os: string; load_1m_before: number };
  readonly in_process: {
    decide_sequential_per_s: number;
    decide_concurrent_per_s: number;
    concurrency: number;
    policy_alone_per_s: number;
    full_over_policy_sequential: number;
    full_over_policy_concurrent: number;
  };
  readonly http: {
    connections: number;
    pipelining: number;
    duration_s: number;
    rounds: number;
    warden: HttpFigures;
    hello: HttpFigures;
    warden_over_hello: number;
    /** warden / hello of each round's adjacent pair: how much the machine's noise moves the ratio. */
    per_round_ratios: number[];
  };
  readonly aims: readonly { aim: string; target: number; measured: number; met: boolean }[];
}

interface HttpFigures {
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  responses: number;
  non_2xx: number;
  errors: number;
  timeouts: number;
  body_mismatches: number;
}

export function buildSummary(inProcess: InProcessResult, http: HttpResult, load1mBefore: number): Summary {
  const ratio = http.warden.requestsPerSecond / http.hello.requestsPerSecond;
  // The throughput aim is judged on the concurrent figure: a service has many decisions in flight.
  const throughput = inProcess.decideConcurrent;
  return {
    generated_at: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      os: `${platform()} ${release()}`,
      load_1m_before: round(load1mBefore, 2),
    },
    in_process: {
      decide_sequential_per_s: round(inProcess.decideSequential),
      decide_concurrent_per_s: round(inProcess.decideConcurrent),
      concurrency: inProcess.concurrency,
      policy_alone_per_s: round(inProcess.policyAlone),
      full_over_policy_sequential: round(inProcess.decideSequential / inProcess.policyAlone, 3),
      full_over_policy_concurrent: round(inProcess.decideConcurrent / inProcess.policyAlone, 3),
    },
    http: {
      connections: http.options.connections,
      pipelining: http.options.pipelining,
      duration_s: http.options.durationSeconds,
      rounds: http.options.rounds,
      warden: figures(http.warden),
      hello: figures(http.hello),
      warden_over_hello: round(ratio, 3),
      per_round_ratios: http.warden.rounds.map((w, i) =>
        round(w.requestsPerSecond / (http.hello.rounds[i]?.requestsPerSecond ?? NaN), 3),
      ),
    },
    aims: [
      {
        aim: `in-process decide() (${inProcess.concurrency} in flight), decisions/s on one core`,
        target: AIMS.inProcessPerSecond,
        measured: round(throughput),
        met: throughput >= AIMS.inProcessPerSecond,
      },
      {
        aim: 'HTTP /v1/decide req/s as a share of fastify hello-world',
        target: AIMS.httpShareOfHello,
        measured: round(ratio, 3),
        met: ratio >= AIMS.httpShareOfHello,
      },
    ],
  };
}

/** The summary as Markdown, ready for docs/benchmarks.md. */
export function toMarkdown(s: Summary): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const ms = (x: number) => x.toFixed(2);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const { in_process: p, http: h } = s;
  const check = (w: HttpFigures) =>
    `${n(w.responses)} responses, ${w.non_2xx} non-2xx, ${w.errors} errors, ` +
    `${w.timeouts} timeouts, ${w.body_mismatches} unexpected bodies`;
  return [
    `**Machine:** ${s.machine.cpu}, ${s.machine.cores} cores, Node ${s.machine.node}, ${s.machine.os}, ` +
      `load average ${s.machine.load_1m_before} before the run (${s.generated_at.slice(0, 10)})`,
    '',
    '| In-process (one event loop; warm token cache, default bundle, ' +
      'file audit, live session) | per second (median) | ratio to policy alone |',
    '|---|---:|---:|',
    `| \`decide()\`, 1 in flight (sequential awaits) ` +
      `| ${n(p.decide_sequential_per_s)} | ${pct(p.full_over_policy_sequential)} |`,
    `| \`decide()\`, ${p.concurrency} in flight ` +
      `| ${n(p.decide_concurrent_per_s)} | ${pct(p.full_over_policy_concurrent)} |`,
    `| \`engine.decide(input)\` alone (reference) | ${n(p.policy_alone_per_s)} | 100 % |`,
    '',
    `| HTTP (autocannon, ${h.connections} connections, pipelining ${h.pipelining}, ` +
      `${h.rounds} × ${h.duration_s} s alternated, server in its own process) | req/s (median) | p50 ms | p99 ms |`,
    '|---|---:|---:|---:|',
    `| mcp-warden \`POST /v1/decide\` (allowed tools/call, token + session) ` +
      `| ${n(h.warden.req_per_s)} | ${ms(h.warden.p50_ms)} | ${ms(h.warden.p99_ms)} |`,
    `| fastify hello-world \`GET /\` | ${n(h.hello.req_per_s)} | ${ms(h.hello.p50_ms)} | ${ms(h.hello.p99_ms)} |`,
    '| warden / hello (ratio of the medians; per round: ' +
      `${h.per_round_ratios.map(pct).join(', ')}) | ${pct(h.warden_over_hello)} | | |`,
    '',
    `Checks — decide: ${check(h.warden)} (every 2xx body must hold \`"allow":true\`); hello: ${check(h.hello)}.`,
    '',
    '| Aim | Target | Measured | Met |',
    '|---|---:|---:|:---:|',
    ...s.aims.map(
      (a) =>
        `| ${a.aim} | ${a.target < 1 ? `≥ ${pct(a.target)}` : `≥ ${n(a.target)}`} ` +
        `| ${a.target < 1 ? pct(a.measured) : n(a.measured)} | ${a.met ? 'yes' : 'no'} |`,
    ),
  ].join('\n');
}

export function writeJson(path: string, summary: Summary): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(summary, null, 2)}\n`);
}

function figures(t: HttpTargetResult): HttpFigures {
  return {
    req_per_s: round(t.requestsPerSecond),
    p50_ms: round(t.p50Ms, 3),
    p99_ms: round(t.p99Ms, 3),
    responses: t.responses,
    non_2xx: t.non2xx,
    errors: t.errors,
    timeouts: t.timeouts,
    body_mismatches: t.mismatches,
  };
}

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
