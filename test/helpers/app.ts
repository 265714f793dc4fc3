import type { FastifyInstance } from 'fastify';
import type { AuditRecord, AuditSink } from '../../src/audit/record.ts';
import type { CoreDeps } from '../../src/decision/deps.ts';
import type { PolicyReloader, PolicyStatus } from '../../src/policy/reloader.ts';
import { buildApp, type AppOptions } from '../../src/server/app.ts';
import { createCallerAuth } from '../../src/server/caller.ts';
import { Lifecycle } from '../../src/server/lifecycle.ts';

/** A reloader stand-in that only reports a status (what `/health` and `/readyz` read). */
export function reloaderReporting(status: PolicyStatus['status'], revision: string | null = null): PolicyReloader {
  const report: PolicyStatus = { status, revision, signer: null, last_activation: null, last_error: null };
  return { status: () => report } as unknown as PolicyReloader;
}

/** The HTTP app over test core deps, without API keys, with a lifecycle the test drives. */
export async function buildTestApp(
  core: CoreDeps,
  options: Partial<AppOptions> = {},
): Promise<{ app: FastifyInstance; lifecycle: Lifecycle }> {
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const app = await buildApp({
    core,
    auth: createCallerAuth([]),
    reloader: reloaderReporting('OK', core.policy.revision),
    bodyLimit: 65_536,
    ...options,
    lifecycle,
  });
  return { app, lifecycle };
}

/** A sink in front of another that holds every record until `release()`; `waiting` counts them. */
export class GatedAuditSink implements AuditSink {
  readonly #inner: AuditSink;
  #held: (() => void)[] = [];
  #open = false;

  constructor(inner: AuditSink) {
    this.#inner = inner;
  }

  get waiting(): number {
    return this.#held.length;
  }

  /** Lets every held record through, and every later one at once. */
  release(): void {
    this.#open = true;
    for (const go of this.#held.splice(0)) go();
  }

  async append(record: AuditRecord): Promise<void> {
    if (!this.#open) await new Promise<void>((resolve) => this.#held.push(resolve));
    return this.#inner.append(record);
  }
  query: AuditSink['query'] = (q) => this.#inner.query(q);
  records: AuditSink['records'] = () => this.#inner.records();
  checkpoints: AuditSink['checkpoints'] = () => this.#inner.checkpoints();
  head: AuditSink['head'] = () => this.#inner.head();
  start: AuditSink['start'] = () => this.#inner.start();
  stop: AuditSink['stop'] = () => this.#inner.stop();
  status: AuditSink['status'] = () => this.#inner.status();
}

/** Resolves once `check()` holds, polling every 5 ms for up to 5 s. */
export async function until(check: () => boolean, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
