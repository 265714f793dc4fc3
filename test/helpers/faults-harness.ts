import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from './cli.ts';

/**
 * The parts every fault scenario shares: `mcp-warden serve` in a child process, a
 * closed-loop load of good and must-deny requests, and the measures of the reliability
 * table (requests sent, errors, wrong allows, audit records lost, recovery time).
 */

export const SERVER = 'https://mcp.example.com/files';

/** How long each phase lasts: before the fault, during it, after it. */
export interface Phases {
  readonly beforeMs: number;
  readonly faultMs: number;
  readonly afterMs: number;
}
export const PHASES: Phases = { beforeMs: 1_500, faultMs: 2_500, afterMs: 2_500 };

/** A running `mcp-warden serve`. */
export interface Warden {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or 128 + signal) once the process has exited. */
  readonly exited: Promise<number>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number>;
  /** SIGKILL and wait for the exit. */
  kill9(): Promise<number>;
}

export interface WardenOptions {
  /** Working directory; `config` is written to `<dir>/config.json`. */
  readonly dir: string;
  readonly config: Record<string, unknown>;
  readonly env?: NodeJS.ProcessEnv;
  /** Run as this user (PostgreSQL-style privilege drop; root ignores file permissions). */
  readonly user?: { uid: number; gid: number } | undefined;
  readonly timeoutMs?: number;
}

/** Starts `node src/cli.ts serve --config <dir>/config.json --port 0` and waits for it to listen. */
export async function startWarden(options: WardenOptions): Promise<Warden> {
  const configFile = join(options.dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(options.config, null, 2));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile, '--port', '0'], {
    cwd: options.dir,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options.user,
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  let out = '';
  const exited = once(child, 'exit').then(([code, signal]) => {
    process.off('exit', kill);
    return typeof code === 'number' ? code : 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 0);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serve did not listen within ${options.timeoutMs ?? 30_000} ms: ${out}`)),
      options.timeoutMs ?? 30_000,
    );
    const collect = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /mcp-warden listening on (http:\/\/[^"\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${out}`));
    });
  });
  const signal = async (s: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(s);
    return exited;
  };
  return {
    url,
    pid: child.pid as number,
    child,
    output: () => out,
    exited,
    stop: () => signal('SIGTERM'),
    kill9: () => signal('SIGKILL'),
  };
}

/** A dev-mode token from the service's own issuer. */
export async function devToken(url: string, sub = 'alice', roles = ['reader']): Promise<string> {
  const res = await fetch(`${url}/v1/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub, roles, server: SERVER }),
  });
  if (res.status !== 200) throw new Error(`dev token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** The token with its signature's first character changed: a forgery (signature_invalid). */
export function tampered(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  return `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
}

export const readCall = (token: string, session?: string) => ({
  token,
  server: SERVER,
  ...(session === undefined ? {} : { session }),
  mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
});
export const deleteCall = (token: string, session?: string) => ({
  token,
  server: SERVER,
  ...(session === undefined ? {} : { session }),
  mcp: { method: 'tools/call', params: { name: 'fs_delete', arguments: { path: '/srv/data/a' } } },
});

/** One request of the load: `good` ones should be allowed when all is well; `bad` ones must never be. */
export interface Request {
  readonly kind: 'good' | 'bad';
  readonly path: string;
  readonly body: unknown;
  /** Free-form, for the scenario's own judgement (e.g. which token). */
  readonly tag?: string;
  /** Called with the answer (e.g. to keep a created session id). */
  readonly after?: (a: Answer) => void;
}

/** What one request got. Times are `performance.now()` of this process. */
export interface Answer {
  readonly kind: 'good' | 'bad';
  readonly tag: string | undefined;
  readonly t0: number;
  readonly t1: number;
  readonly status: number | null;
  readonly allow: boolean | null;
  readonly code: string | null;
  readonly decisionId: string | null;
  /** The policy revision a decision names. */
  readonly revision: string | null;
  /** The id a session creation (201) returned. */
  readonly sessionId: string | null;
  readonly error: string | null;
}

export interface Load {
  readonly answers: Answer[];
  /** Stops the loops and waits for the requests in flight. */
  stop(): Promise<Answer[]>;
}

/** A closed loop: `concurrency` workers, each sending `next()` until stopped. */
export function startLoad(url: () => string, next: () => Request, concurrency = 8, requestTimeoutMs = 10_000): Load {
  const answers: Answer[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      const req = next();
      const t0 = performance.now();
      const sent = await send(url(), req, requestTimeoutMs);
      const a: Answer = { ...sent, kind: req.kind, tag: req.tag, t0, t1: performance.now() };
      answers.push(a);
      req.after?.(a);
      if (a.error !== null) await sleep(20);
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    answers,
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return answers;
    },
  };
}

type Sent = Pick<Answer, 'status' | 'allow' | 'code' | 'decisionId' | 'revision' | 'sessionId' | 'error'>;

/** Sends one request; a transport failure is an answer too (`error` = its cause code). */
export async function send(url: string, req: Pick<Request, 'path' | 'body'>, timeoutMs = 10_000): Promise<Sent> {
  try {
    const res = await fetch(`${url}${req.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(req.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const json = (await res.json().catch(() => ({}))) as {
      allow?: boolean;
      reasons?: { code: string }[];
      code?: string;
      decision_id?: string;
      id?: string;
      policy?: { revision: string | null };
    };
    return {
      status: res.status,
      allow: typeof json.allow === 'boolean' ? json.allow : null,
      code: json.reasons?.[0]?.code ?? json.code ?? null,
      decisionId: json.decision_id ?? null,
      revision: json.policy?.revision ?? null,
      sessionId: res.status === 201 ? (json.id ?? null) : null,
      error: null,
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return {
      status: null,
      allow: null,
      code: null,
      decisionId: null,
      revision: null,
      sessionId: null,
      error: cause?.code ?? (err as Error).name ?? 'error',
    };
  }
}

/** The decision ids in a JSONL trail, rotated files (`<file>.<n>`) included. */
export function fileTrail(file: string): Set<string> {
  const dir = dirname(file);
  const name = basename(file);
  const files = existsSync(dir)
    ? readdirSync(dir).filter((f) => f === name || new RegExp(`^${name.replace(/\./g, '\\.')}\\.\\d+$`).test(f))
    : [];
  const ids = new Set<string>();
  for (const f of files) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      // A line that is not JSON is lost to every reader of the trail, whatever it holds.
      try {
        const id = (JSON.parse(line) as { decision_id?: unknown }).decision_id;
        if (typeof id === 'string') ids.add(id);
      } catch {
        // torn or merged line
      }
    }
  }
  return ids;
}

/** One row of the reliability table, and what the scenario's test asserts. */
export interface ScenarioResult {
  readonly name: string;
  readonly expectation: string;
  readonly sent: number;
  /** Answers that were not the correct one, by `status reason` or transport error. */
  readonly errors: Record<string, number>;
  /** Errors that the scenario's expectation does not explain (must be 0). */
  readonly unexpected: Record<string, number>;
  readonly wrongAllows: number;
  /** Answered decisions whose record is not in the trail. */
  readonly lost: number;
  /** From the fault's end to the first correct answer; null when it never came. */
  readonly recoveryMs: number | null;
  /** How it recovered: by itself, by an operator's action (reload), or by a restart of mcp-warden. */
  readonly recoveredBy: 'itself' | 'operator' | 'restart';
  /** Scenario-specific expectations, each true when met. */
  readonly checks: Record<string, boolean>;
  readonly notes: readonly string[];
}

export interface Judgement {
  /** The fault is in force for answers to requests sent in [start, end). */
  readonly faultStart: number;
  readonly faultEnd: number;
  /** True for an answer that must not be an allow although its request is good (e.g. audit down). */
  mustDeny?(a: Answer): boolean;
  /** True for a not-correct answer the expectation explains (e.g. deny audit_unavailable during the fault). */
  expected(a: Answer): boolean;
  /** The trail, to count lost records; undefined skips the count. */
  readonly trail?: Set<string> | undefined;
  /** A correct answer after the fault; by default a good request allowed. */
  recovered?(a: Answer): boolean;
  readonly recoveredBy?: ScenarioResult['recoveredBy'];
}

/** The label of a not-correct answer. */
export function label(a: Answer): string {
  if (a.error !== null) return `${a.kind}: ${a.error}`;
  if (a.status === 200 && a.allow !== null) return `${a.kind}: ${a.allow ? 'allow' : `deny ${a.code}`}`;
  return `${a.kind}: ${a.status} ${a.code}`;
}

/** A scenario's answers and what they are judged by. */
export interface JudgeOptions {
  readonly name: string;
  /** What the scenario promises, in a sentence. */
  readonly expectation: string;
  readonly answers: readonly Answer[];
  readonly judgement: Judgement;
  /** Named checks of the scenario beyond its answers (true: passed). */
  readonly checks?: Record<string, boolean>;
  readonly notes?: string[];
}

/** The measures of the table from the answers. */
export function judge({
  name,
  expectation,
  answers,
  judgement: j,
  checks = {},
  notes = [],
}: JudgeOptions): ScenarioResult {
  const errors: Record<string, number> = {};
  const unexpected: Record<string, number> = {};
  let wrongAllows = 0;
  let lost = 0;
  for (const a of answers) {
    const correct =
      a.kind === 'good'
        ? (a.status === 200 && a.allow === true) || a.status === 201
        : a.status === 200 && a.allow === false;
    if (a.allow === true && (a.kind === 'bad' || j.mustDeny?.(a) === true)) wrongAllows += 1;
    // A decision answered (allow, or a deny other than the sink's own refusal) must be in the trail.
    if (
      j.trail !== undefined &&
      a.status === 200 &&
      a.decisionId !== null &&
      a.code !== 'audit_unavailable' &&
      !j.trail.has(a.decisionId)
    )
      lost += 1;
    if (correct) continue;
    const l = label(a);
    errors[l] = (errors[l] ?? 0) + 1;
    if (!j.expected(a)) unexpected[l] = (unexpected[l] ?? 0) + 1;
  }
  const recovered = j.recovered ?? ((a: Answer) => a.kind === 'good' && (a.allow === true || a.status === 201));
  const first = answers.filter((a) => a.t0 >= j.faultEnd && recovered(a)).sort((a, b) => a.t1 - b.t1)[0];
  return {
    name,
    expectation,
    sent: answers.length,
    errors,
    unexpected,
    wrongAllows,
    lost,
    recoveryMs: first === undefined ? null : Math.max(0, first.t1 - j.faultEnd),
    recoveredBy: j.recoveredBy ?? 'itself',
    checks,
    notes,
  };
}

/** Within [start, end) of the fault. */
export const during = (a: Answer, start: number, end: number) => a.t0 >= start && a.t0 < end;

/** Waits until `probe` is true (polling), or the timeout. */
export async function waitFor(
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 25,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe()) return true;
    await sleep(everyMs);
  }
  return false;
}

/** The config of a dev-mode service whose files live in `dir`; `more` sections are merged in. */
export function devConfig(dir: string, more: Record<string, Record<string, unknown>> = {}): Record<string, unknown> {
  return {
    ...more,
    server: { dev: true, dev_key_file: join(dir, 'dev-key.json'), shutdown_grace_ms: 10_000, ...more.server },
    audit: { file: join(dir, 'audit.jsonl'), checkpoint_key_file: join(dir, 'checkpoint-key.json'), ...more.audit },
  };
}

/** Three good reads for one must-deny request: a destructive tool (policy) or a forged token (identity). */
export function decideMix(token: string, session?: () => string | undefined): () => Request {
  let i = 0;
  const forged = tampered(token);
  return () => {
    i += 1;
    if (i % 8 === 4)
      return { kind: 'bad', path: '/v1/decide', body: deleteCall(token, session?.()), tag: 'destructive' };
    if (i % 8 === 0) return { kind: 'bad', path: '/v1/decide', body: readCall(forged, session?.()), tag: 'forged' };
    return { kind: 'good', path: '/v1/decide', body: readCall(token, session?.()) };
  };
}

/** `mcp-warden audit verify --config <dir>/config.json` (run in `dir`): its exit code and output. */
export async function verifyTrailCli(dir: string): Promise<{ ok: boolean; output: string }> {
  const child = spawn(process.execPath, [CLI, 'audit', 'verify', '--config', join(dir, 'config.json')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { ok: code === 0, output: output.trim() };
}

/** What `GET /health` answers, as far as the scenarios read it. */
export interface HealthBody {
  readonly status?: string;
  readonly components?: Readonly<Record<string, { readonly status?: string } | undefined>>;
}

/** Polls `GET /health` every `everyMs` until stopped; keeps every status seen with its time. */
export function watchHealth(
  url: () => string,
  everyMs = 100,
): { seen: { t: number; status: number | null; body: HealthBody | null }[]; stop(): Promise<void> } {
  const seen: { t: number; status: number | null; body: HealthBody | null }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      try {
        const res = await fetch(`${url()}/health`, { signal: AbortSignal.timeout(2_000) });
        seen.push({ t, status: res.status, body: (await res.json().catch(() => null)) as HealthBody | null });
      } catch {
        seen.push({ t, status: null, body: null });
      }
      await sleep(everyMs);
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
