import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditKind } from '../audit/record.ts';
import type { CoreObserver } from '../decision/deps.ts';
import type { Decision } from '../decision/types.ts';
import type { SessionStore } from '../session/record.ts';
import { processRegistry } from './process-registry.ts';
import { reasonLabel } from './reason-label.ts';

/** A session store call, as the `operation` label names it. */
export type SessionOperation = 'insert' | 'get' | 'touch' | 'add_scope' | 'revoke' | 'revoke_where' | 'list' | 'sweep';
/** How a store call ended: done, refused by the per-principal limit, or failed. */
export type OperationOutcome = 'ok' | 'limit_reached' | 'error';
/** A backend, as the `store` label names it. */
export type StoreName = 'memory' | 'redis' | 'file' | 'postgres';

/** From 50 µs (a cached token, an in-memory store) to 1 s (a slow JWKS or Redis). */
const DECISION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** From a group commit's fdatasync (≈ 100 µs on fast disks) to a stalled disk or database. */
const AUDIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** What the scrape-time gauges read, once the parts exist. */
export interface MetricSources {
  readonly sessions?: SessionStore | undefined;
  readonly policyRevision?: (() => string | null) | undefined;
}

/**
 * The metrics of one service instance, in a registry of its own (never prom-client's
 * global one), so two services in a process, or tests, do not share counters. The core
 * reports through {@link CoreObserver} and the store and sink wrappers; nothing here is
 * on a decision's path beyond a counter increment and a histogram observation.
 */
export class ServiceMetrics implements CoreObserver {
  /** This instance's registry; the process metrics are kept apart (see `processRegistry`). */
  readonly registry = new Registry();
  readonly #decisions: Counter<'outcome' | 'reason'>;
  readonly #decisionSeconds: Histogram<'outcome'>;
  readonly #sessionOps: Counter<'operation' | 'outcome'>;
  readonly #storeErrors: Counter<'store'>;
  readonly #auditRecords: Counter<'kind'>;
  readonly #auditFailures: Counter<'kind'>;
  readonly #auditLag: Histogram;
  readonly #activations: Counter<'outcome'>;
  readonly #sharedPrincipals: Counter;
  #sources: MetricSources = {};

  /** `now` is the clock the live-session gauge counts at. */
  constructor(now: () => number = Date.now) {
    const registers = [this.registry];
    const sources = (): MetricSources => this.#sources;
    // Read on scrape. A store failure met here shows in `store_errors_total` from the next scrape on.
    new Gauge({
      name: 'mcp_warden_policy_info',
      help: 'The active policy revision, as a label; 1 while a policy is loaded.',
      labelNames: ['revision'],
      registers,
      collect() {
        this.reset();
        const revision = sources().policyRevision?.() ?? null;
        if (revision !== null) this.set({ revision }, 1);
      },
    });
    new Gauge({
      name: 'mcp_warden_sessions_live',
      help:
        'Live sessions and state handles, read from the store on ' +
        'scrape (redis: an upper bound shared by all replicas).',
      registers,
      async collect() {
        // A store that cannot answer keeps the last value; the failure is counted as a store error.
        await sources()
          .sessions?.countLive(now())
          .then(
            (count) => this.set(count),
            () => undefined,
          );
      },
    });
    this.#decisions = new Counter({
      name: 'mcp_warden_decisions_total',
      help:
        'Decisions answered, by outcome (allow|deny) ' +
        'and first reason code (none when there is none, other when unknown).',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.#decisionSeconds = new Histogram({
      name: 'mcp_warden_decision_duration_seconds',
      help: 'Time decide() took, from the start of token verification to the accepted audit record.',
      labelNames: ['outcome'],
      buckets: DECISION_BUCKETS,
      registers,
    });
    this.#sessionOps = new Counter({
      name: 'mcp_warden_session_operations_total',
      help: 'Session store calls, by operation and outcome (ok|limit_reached|error).',
      labelNames: ['operation', 'outcome'],
      registers,
    });
    this.#storeErrors = new Counter({
      name: 'mcp_warden_store_errors_total',
      help: 'Failed calls to a backend: the session store (memory|redis) or the audit sink (file|postgres).',
      labelNames: ['store'],
      registers,
    });
    this.#auditRecords = new Counter({
      name: 'mcp_warden_audit_records_total',
      help: 'Audit records accepted (durably written) by the sink, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.#auditFailures = new Counter({
      name: 'mcp_warden_audit_failures_total',
      help: 'Audit records the sink refused, by kind; each failed the request it belonged to closed.',
      labelNames: ['kind'],
      registers,
    });
    this.#auditLag = new Histogram({
      name: 'mcp_warden_audit_lag_seconds',
      help: 'Time from handing a record to the sink to its durable write (file: fdatasync; postgres: commit).',
      buckets: AUDIT_BUCKETS,
      registers,
    });
    this.#activations = new Counter({
      name: 'mcp_warden_policy_activations_total',
      help: 'Policy bundles activated or rejected (the last good one stays active).',
      labelNames: ['outcome'],
      registers,
    });
    this.#sharedPrincipals = new Counter({
      name: 'mcp_warden_shared_principals_total',
      help: 'Principals that became shared: used from many clients, agent workloads or actor chains in the window.',
      registers,
    });
  }

  /** Points the scrape-time gauges at the running parts. */
  watch(sources: MetricSources): void {
    this.#sources = sources;
  }

  decision(decision: Decision, seconds: number): void {
    const outcome = decision.allow ? 'allow' : 'deny';
    this.#decisions.inc({ outcome, reason: reasonLabel(decision.reasons) });
    this.#decisionSeconds.observe({ outcome }, seconds);
  }

  /** A principal became shared (audited as `principal.shared`). */
  sharedPrincipal(): void {
    this.#sharedPrincipals.inc();
  }

  /** One session store call and how it ended. */
  sessionOperation(operation: SessionOperation, outcome: OperationOutcome): void {
    this.#sessionOps.inc({ operation, outcome });
  }

  /** One failed backend call. */
  storeError(store: StoreName): void {
    this.#storeErrors.inc({ store });
  }

  /** A record the sink accepted, `seconds` after it was handed over. */
  auditWritten(kind: AuditKind, seconds: number): void {
    this.#auditRecords.inc({ kind });
    this.#auditLag.observe(seconds);
  }

  /** A record the sink refused. */
  auditFailed(kind: AuditKind): void {
    this.#auditFailures.inc({ kind });
  }

  /** A bundle activated or rejected by the reloader. */
  policyActivation(outcome: 'activated' | 'rejected'): void {
    this.#activations.inc({ outcome });
  }

  /** The content type of {@link exposition}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition: this instance's metrics, then the process's. */
  async exposition(): Promise<string> {
    const [own, process] = await Promise.all([this.registry.metrics(), processRegistry().metrics()]);
    return `${own}\n${process}`;
  }
}
