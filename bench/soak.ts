#!/usr/bin/env node
/**
 * Soak: `mcp-warden serve` (a child process, dev mode, file audit) at half of its
 * measured capacity for a long time, with session churn (create, use, revoke, a use after
 * the revoke) and a policy reload every few seconds.
 *
 *   node bench/soak.ts                       # 10 minutes; capacity probed for 10 s first
 *   node bench/soak.ts --minutes 1 --rate 300 --reload-every 10
 *
 * Prints requests, unexpected errors (must be 0), decision latency, RSS first/last/max
 * and its drift after warm-up (must stay within 10%), and the event-loop delay p99 from
 * the service's /metrics (`nodejs_eventloop_lag_p99_seconds`; the latency of GET /health
 * stands in when there is no /metrics). Writes bench/results/soak-latest.json.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { devConfig, devToken, SERVER, startWarden, type Warden } from '../test/helpers/faults-harness.ts';
import { repackedBundle } from '../test/helpers/faults-policy.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MAX_IN_FLIGHT = 512;

type Action = 'create' | 'use' | 'use-after-revoke' | 'revoke' | 'plain' | 'destructive';

interface Live {
  readonly id: string;
  uses: number;
  inFlight: number;
  revoking: boolean;
}

/** The load: a session churn state machine plus plain and must-deny decisions. */
/** The parts of a service answer (a decision, a session or an error envelope) the soak looks at. */
type Answer = {
  allow?: boolean;
  code?: string;
  id?: unknown;
  reasons?: { code?: string }[];
  policy?: { revision?: string };
} | null;

class Churn {
  readonly live: Live[] = [];
  creating = 0;
  readonly latencies: number[] = [];
  readonly counts = new Map<string, number>();
  readonly unexpected = new Map<string, number>();
  readonly revisions = new Map<string, number>();
  sent = 0;
  inFlight = 0;
  readonly url: string;
  readonly token: string;
  readonly usesPerSession = 25;
  readonly poolSize = 32;
  constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  async fire(): Promise<void> {
    this.sent += 1;
    this.inFlight += 1;
    try {
      const n = this.sent % 100;
      if (n < 7) return await this.decide('plain', undefined, 'fs_read');
      if (n < 15) return await this.decide('destructive', undefined, 'fs_delete');
      if (this.live.length + this.creating < this.poolSize) return await this.create();
      const ready = this.live.filter((s) => !s.revoking);
      const done = ready.find((s) => s.uses >= this.usesPerSession && s.inFlight === 0);
      if (done !== undefined) return await this.revoke(done);
      const s = ready[this.sent % Math.max(1, ready.length)];
      if (s === undefined) return await this.decide('plain', undefined, 'fs_read');
      s.uses += 1;
      s.inFlight += 1;
      try {
        await this.decide('use', s.id, 'fs_read');
      } finally {
        s.inFlight -= 1;
      }
    } finally {
      this.inFlight -= 1;
    }
  }

  async #call(
    action: Action,
    method: string,
    path: string,
    body: unknown,
    expect: (status: number, json: Answer) => boolean,
  ): Promise<Answer> {
    const t0 = performance.now();
    let label: string;
    let json: Answer = null;
    try {
      const res = await fetch(`${this.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      json = (await res.json().catch(() => null)) as Answer;
      const outcome = json?.allow === undefined ? (json?.code ?? '') : json.allow ? 'allow' : json.reasons?.[0]?.code;
      label = `${action}: ${res.status} ${outcome}`;
      if (!expect(res.status, json)) this.unexpected.set(label, (this.unexpected.get(label) ?? 0) + 1);
    } catch (err) {
      label = `${action}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name}`;
      this.unexpected.set(label, (this.unexpected.get(label) ?? 0) + 1);
    }
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
    if (path === '/v1/decide') this.latencies.push(performance.now() - t0);
    if (json?.policy?.revision)
      this.revisions.set(json.policy.revision, (this.revisions.get(json.policy.revision) ?? 0) + 1);
    return json;
  }

  decide(action: Action, session: string | undefined, tool: string): Promise<void> {
    const body = {
      token: this.token,
      server: SERVER,
      ...(session ? { session } : {}),
      mcp: { method: 'tools/call', params: { name: tool, arguments: { path: '/srv/data/a' } } },
    };
    const want =
      action === 'destructive'
        ? (j: Answer) => j?.allow === false && j.reasons?.[0]?.code === 'destructive_requires_role'
        : action === 'use-after-revoke'
          ? (j: Answer) => j?.allow === false && j.reasons?.[0]?.code === 'session_revoked'
          : (j: Answer) => j?.allow === true;
    return this.#call(action, 'POST', '/v1/decide', body, (status, j) => status === 200 && want(j)).then(
      () => undefined,
    );
  }

  async create(): Promise<void> {
    this.creating += 1;
    try {
      const json = await this.#call(
        'create',
        'POST',
        '/v1/sessions',
        { token: this.token, server: SERVER },
        (status) => status === 201,
      );
      if (typeof json?.id === 'string') this.live.push({ id: json.id, uses: 0, inFlight: 0, revoking: false });
    } finally {
      this.creating -= 1;
    }
  }

  async revoke(s: Live): Promise<void> {
    s.revoking = true;
    await this.#call('revoke', 'DELETE', `/v1/sessions/${s.id}`, { token: this.token }, (status) => status === 200);
    this.live.splice(this.live.indexOf(s), 1);
    await this.decide('use-after-revoke', s.id, 'fs_read');
  }
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
};

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** p99 event-loop delay from the service's Prometheus text, in ms; null without /metrics. */
async function loopP99(url: string): Promise<number | null> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
  if (res === null || res.status !== 200) return null;
  const m = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(await res.text());
  return m ? Number(m[1]) * 1000 : null;
}

/** Completed operations per second with `concurrency` closed-loop workers, for `seconds`. */
async function probeCapacity(churn: Churn, seconds: number, concurrency: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await churn.fire();
        done += 1;
      }
    }),
  );
  return done / seconds;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string' },
      'probe-seconds': { type: 'string', default: '10' },
      'reload-every': { type: 'string', default: '20' },
      'sample-every': { type: 'string', default: '5' },
      out: { type: 'string', default: join(ROOT, 'bench/results/soak-latest.json') },
    },
    strict: true,
  });
  const minutes = Number(values.minutes);
  const dir = mkdtempSync(join('/tmp', 'mcp-warden-soak-'));
  const policyDir = join(dir, 'policy');
  mkdirSync(policyDir);
  const bundle = join(policyDir, 'bundle.tar.gz');
  copyFileSync(await repackedBundle(dir, 'soak-0'), bundle);
  const w: Warden = await startWarden({
    dir,
    config: devConfig(dir, { policy: { bundle, reload_debounce_ms: 100 }, server: { log_level: 'info' } }),
  });
  const command = `node bench/soak.ts ${process.argv.slice(2).join(' ')}`.trim();
  const summary: string[] = [];
  const say = (line: string) => {
    summary.push(line);
    console.log(line);
  };
  try {
    const token = await devToken(w.url);
    let rate = values.rate === undefined ? undefined : Number(values.rate);
    if (rate === undefined) {
      const probe = new Churn(w.url, token);
      const capacity = await probeCapacity(probe, Number(values['probe-seconds']), 16);
      rate = Math.max(1, Math.floor(capacity / 2));
      say(
        `capacity: ${capacity.toFixed(0)} req/s (16 closed-loop workers, ` +
          `${values['probe-seconds']} s, same mix); soak rate: ${rate} req/s`,
      );
      if (probe.unexpected.size > 0)
        say(`capacity probe unexpected: ${JSON.stringify(Object.fromEntries(probe.unexpected))}`);
    }
    const churn = new Churn(w.url, token);
    const samples: { t: number; rssMiB: number; loopP99Ms: number | null; healthMs: number; sent: number }[] = [];
    const started = performance.now();
    const end = started + minutes * 60_000;
    let skipped = 0;
    let budget = 0;
    const firing = new Set<Promise<void>>();
    const tick = setInterval(() => {
      budget += (rate as number) / 100;
      while (budget >= 1) {
        budget -= 1;
        if (churn.inFlight >= MAX_IN_FLIGHT) {
          skipped += 1;
          continue;
        }
        const p = churn.fire();
        firing.add(p);
        void p.finally(() => firing.delete(p));
      }
    }, 10);
    let reloads = 0;
    // Each reload a newer revision (soak-1 < soak-2 < … < soak-10): an older one is refused as a rollback.
    const reloader = setInterval(() => {
      reloads += 1;
      void repackedBundle(dir, `soak-${reloads}`).then((next) => {
        copyFileSync(next, `${bundle}.tmp`);
        renameSync(`${bundle}.tmp`, bundle);
      });
    }, Number(values['reload-every']) * 1000);
    const sampleEvery = Number(values['sample-every']) * 1000;
    while (performance.now() < end) {
      await sleep(Math.min(sampleEvery, end - performance.now()));
      const h0 = performance.now();
      await fetch(`${w.url}/health`)
        .then((r) => r.text())
        .catch(() => '');
      samples.push({
        t: (performance.now() - started) / 1000,
        rssMiB: rssMiB(w.pid),
        loopP99Ms: await loopP99(w.url),
        healthMs: performance.now() - h0,
        sent: churn.sent,
      });
    }
    clearInterval(tick);
    clearInterval(reloader);
    await Promise.all(firing);
    const seconds = (performance.now() - started) / 1000;
    const code = await w.stop();

    const warm = samples.find((s) => s.t >= Math.max(30, seconds * 0.1)) ?? samples[0];
    const rss = samples.map((s) => s.rssMiB);
    const last = rss.at(-1) ?? 0;
    const drift = warm ? ((last - warm.rssMiB) / warm.rssMiB) * 100 : 0;
    const loops = samples.map((s) => s.loopP99Ms).filter((x): x is number => x !== null);
    const unexpected = [...churn.unexpected.values()].reduce((a, b) => a + b, 0);
    say(
      `soak: ${minutes} min at ${rate} req/s target; ${churn.sent} requests in ${seconds.toFixed(0)} s ` +
        `(${(churn.sent / seconds).toFixed(0)} req/s achieved); ` +
        `${skipped} not sent (over ${MAX_IN_FLIGHT} in flight)`,
    );
    say(`mix: ${JSON.stringify(Object.fromEntries([...churn.counts].sort((a, b) => b[1] - a[1])))}`);
    say(
      'unexpected errors: ' +
        `${unexpected}${unexpected > 0 ? ` ${JSON.stringify(Object.fromEntries(churn.unexpected))}` : ''}`,
    );
    say(
      `decision latency: p50 ${pct(churn.latencies, 0.5).toFixed(1)} ms, ` +
        `p99 ${pct(churn.latencies, 0.99).toFixed(1)} ms, max ${maxOf(churn.latencies).toFixed(0)} ms`,
    );
    say(`policy reloads: ${reloads} (revisions answered: ${JSON.stringify(Object.fromEntries(churn.revisions))})`);
    say(
      `RSS: first ${rss[0]?.toFixed(0)} MiB, after warm-up (${warm?.t.toFixed(0)} s) ` +
        `${warm?.rssMiB.toFixed(0)} MiB, last ${last.toFixed(0)} MiB, max ${maxOf(rss).toFixed(0)} MiB; ` +
        `drift after warm-up ${drift.toFixed(1)}% (${Math.abs(drift) <= 10 ? 'within' : 'OUTSIDE'} 10%)`,
    );
    say(
      loops.length > 0
        ? `event-loop delay p99 (nodejs_eventloop_lag_p99_seconds, per ${values['sample-every']} s scrape): ` +
            `median ${pct(loops, 0.5).toFixed(1)} ms, max ${maxOf(loops).toFixed(1)} ms`
        : `event-loop delay: no /metrics; GET /health latency as a proxy: p50 ${pct(
            samples.map((s) => s.healthMs),
            0.5,
          ).toFixed(1)} ms, p99 ${pct(
            samples.map((s) => s.healthMs),
            0.99,
          ).toFixed(1)} ms`,
    );
    say(
      `exit on SIGTERM: ${code}; machine: ${cpus().length} × ${cpus()[0]?.model}, Linux ${release()}, ` +
        `Node ${process.versions.node}, load average at end ${loadavg()[0]?.toFixed(2)}`,
    );
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(
      values.out,
      `${JSON.stringify({ date: new Date().toISOString(), command, rate, summary, samples }, null, 2)}\n`,
    );
    return unexpected === 0 && Math.abs(drift) <= 10 && code === 0 ? 0 : 1;
  } finally {
    await w.kill9();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();

/** The largest value; a spread of 300,000 latencies into Math.max overflows the stack. */
function maxOf(values: readonly number[]): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}
