import { hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { auditRecord, type AuditRecord, type AuditSink } from '../audit/record.ts';
import { DEFAULT_LOAD_TIMEOUT_MS } from '../config/policy.ts';
import { BundleInvalid, BundleRollback, toReason } from '../errors.ts';
import type { ActivePolicy } from './active.ts';
import { parseBundle, readBundleBytes } from './bundle.ts';
import { loadPolicyEngine, type PolicyEngine } from './engine.ts';
import { compareRevisions } from './revision.ts';
import type { BundleTrust } from './signature.ts';
import { checkSigningRule } from './signing-rule.ts';
import { BundleTrial } from './trial.ts';

/** How often a removed bundle directory is looked for. */
const DIRECTORY_POLL_MS = 500;

/** What `/v1/status` shows of the policy lifecycle. */
export interface PolicyStatus {
  readonly status: 'OK' | 'WARN' | 'NOT_READY';
  readonly revision: string | null;
  /** The key id that signed the active bundle, or null when it is unsigned. */
  readonly signer: string | null;
  readonly last_activation: { readonly revision: string; readonly at: string } | null;
  readonly last_error: { readonly message: string; readonly at: string } | null;
}

/** Where the reloader says what an operator must hear about; a pino logger (`logger.warn(obj, msg)`) fits. */
export interface PolicyLog {
  /** What an active bundle let in: an unsigned bundle, a rollback. */
  warn(detail: Record<string, unknown>, message: string): void;
  /** Each activation, with its revision, and the recovery from a last error. */
  info?(detail: Record<string, unknown>, message: string): void;
  /** Each rejected bundle, with the revision kept active and the reason. */
  error?(detail: Record<string, unknown>, message: string): void;
}

/** Without a logger, warnings still reach stderr (as a process warning), and the rest as a line each. */
const STDERR_LOG: PolicyLog = {
  warn: (detail, message) => process.emitWarning(`${message} ${JSON.stringify(detail)}`, 'PolicyWarning'),
  info: (detail, message) => console.error(`[policy] ${message} ${JSON.stringify(detail)}`),
  error: (detail, message) => console.error(`[policy] ${message} ${JSON.stringify(detail)}`),
};

/** The build-failure recorder of each started reloader, by the resolved path of its bundle. */
const BUILD_FAILURES = new Map<string, (message: string) => void>();

/**
 * Records on the reloader of `bundlePath` in this process, if one runs, that the bundle's
 * source failed to build (dev mode): the last good bundle stays, and `/v1/status` says why
 * it is not the source's. The next activation clears it.
 */
export function reportBuildFailure(bundlePath: string, message: string): void {
  BUILD_FAILURES.get(resolve(bundlePath))?.(message);
}

/** Options of one {@link PolicyReloader.reload}. */
export interface ReloadOptions {
  /** Accept a revision that is not newer than the active one, for this reload only (an operator's rollback). */
  readonly allowRollback?: boolean;
}

export interface ReloaderOptions {
  readonly path: string;
  readonly maxBytes: number;
  readonly active: ActivePolicy;
  readonly audit: AuditSink;
  /** Watch the bundle's directory; without it, only `reload()` (the admin route) loads. */
  readonly watch: boolean;
  readonly debounceMs: number;
  /** Keys trusted to sign bundles; once given, every bundle must carry a signature by one of them. */
  readonly trust?: BundleTrust | undefined;
  readonly scope?: string | undefined;
  /** Accept unsigned bundles although `trust` is given (`policy.signing.allow_unsigned`); each use is logged. */
  readonly allowUnsigned?: boolean | undefined;
  /** Refuse unsigned bundles even without `trust` (`policy.signing.require_signature`). */
  readonly requireSignature?: boolean | undefined;
  /** Deadline of a bundle's load and trial evaluation in its worker (`policy.load_timeout_ms`). */
  readonly loadTimeoutMs?: number | undefined;
  /** Warnings: an unsigned bundle let in by `allowUnsigned`, a rollback an operator allowed. */
  readonly log?: PolicyLog | undefined;
  /** Told of every activation (the first load included) and every rejected bundle, for metrics. */
  readonly observe?: ((outcome: 'activated' | 'rejected') => void) | undefined;
  /** Told when each reload attempt ends, an unchanged bundle included: what waiting on the watcher can observe. */
  readonly settled?: ((outcome: 'activated' | 'rejected' | 'unchanged') => void) | undefined;
  readonly now?: () => number;
}

/**
 * Loads the bundle at `path` beside the active policy and swaps it in at once; decisions
 * in flight keep the engine they started with. Every bundle, the first one included, is
 * first checked in a worker thread with a deadline (`trial.ts`): signature, manifest
 * roots, load and one evaluation of each entrypoint; only then is it loaded here. On a
 * reload its revision must be newer than the active one (`revision.ts`) unless the
 * reload allows a rollback. A bundle that fails keeps the last good
 * one active, records `policy.rejected`, and turns the status to WARN. The watcher
 * debounces, ignores hidden and temporary files and the other files of the directory
 * (but not Kubernetes' `..data` swap), and re-reads the path on each event, so editors'
 * renames and ConfigMap symlink swaps are followed; an unchanged bundle is not reloaded.
 */
export class PolicyReloader {
  readonly #options: ReloaderOptions;
  readonly #now: () => number;
  readonly #log: PolicyLog;
  readonly #trial = new BundleTrial();
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #loadedHash: string | null = null;
  #lastActivation: PolicyStatus['last_activation'] = null;
  #signer: string | null = null;
  #lastError: PolicyStatus['last_error'] = null;
  #running: Promise<string> | undefined;
  readonly #buildFailed = (message: string): void => {
    this.#lastError = { message, at: new Date(this.#now()).toISOString() };
  };

  constructor(options: ReloaderOptions) {
    checkSigningRule(options);
    const timeout = options.loadTimeoutMs;
    if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
      throw new TypeError('loadTimeoutMs must be a positive integer');
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? STDERR_LOG;
  }

  /** Loads the bundle once (throws when it is bad: the service does not start without a policy), then watches. */
  async start(): Promise<void> {
    const raw = await readBundleBytes(this.#options.path);
    // No revision to be newer than: a process keeps none across restarts (docs/policies.md).
    const loaded = await this.#load(raw, null, false).catch(async (err: unknown) => {
      // A reloader that did not start is not stopped by its owner: let its worker go now.
      await this.#trial.close();
      throw err;
    });
    const { engine, signer } = loaded;
    this.#options.active.activate(engine);
    this.#signer = signer;
    this.#loadedHash = hash('sha256', raw, 'hex');
    this.#lastActivation = { revision: engine.revision, at: new Date(this.#now()).toISOString() };
    this.#options.observe?.('activated');
    this.#activated(loaded, null, null);
    BUILD_FAILURES.set(resolve(this.#options.path), this.#buildFailed);
    if (!this.#options.watch) return;
    await this.#watch();
  }

  /**
   * Watches the bundle's directory. Only the bundle (or Kubernetes' `..data` swap) counts:
   * other files in the same directory, such as an audit file written on every decision,
   * must not keep resetting the debounce. When the directory itself goes away the watcher
   * is dropped and the directory polled for; once it is back it is watched again and
   * the bundle reloaded (the last good policy decides meanwhile).
   */
  async #watch(): Promise<void> {
    const dir = dirname(this.#options.path);
    const name = basename(this.#options.path);
    const watcher = watch(dir, {
      ignoreInitial: true,
      depth: 0,
      ignored: (p: string) => p !== dir && ignorable(basename(p)),
    });
    this.#watcher = watcher;
    watcher.on('all', (event, changed: string) => {
      if (event === 'unlinkDir' && changed === dir) return void this.#awaitDirectory();
      const base = basename(changed);
      if (base === name || base === '..data') this.#schedule();
    });
    watcher.on('error', () => {
      if (!existsSync(dir)) return void this.#awaitDirectory();
      this.#schedule();
    });
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  #awaitDirectory(): void {
    if (this.#poll !== undefined) return;
    const dir = dirname(this.#options.path);
    void this.#watcher?.close();
    this.#watcher = undefined;
    // The failing reload records why (policy.rejected) and turns the status WARN.
    this.#schedule();
    this.#poll = setInterval(() => {
      if (!existsSync(dir)) return;
      clearInterval(this.#poll);
      this.#poll = undefined;
      void this.#watch().then(() => this.#schedule());
    }, DIRECTORY_POLL_MS);
    this.#poll.unref();
  }

  async stop(): Promise<void> {
    const path = resolve(this.#options.path);
    if (BUILD_FAILURES.get(path) === this.#buildFailed) BUILD_FAILURES.delete(path);
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    this.#poll = undefined;
    await this.#watcher?.close();
    this.#watcher = undefined;
    await this.#running?.catch(() => undefined);
    await this.#trial.close();
  }

  /** Reloads now (one at a time); resolves to the active revision, rejects with a `bundle_*` error. */
  reload(options: ReloadOptions = {}): Promise<string> {
    const allowRollback = options.allowRollback === true;
    const run = (this.#running ?? Promise.resolve('')).catch(() => '').then(() => this.#reload(allowRollback));
    this.#running = run;
    return run;
  }

  status(): PolicyStatus {
    const revision = this.#options.active.revision;
    const status = revision === null ? 'NOT_READY' : this.#lastError !== null ? 'WARN' : 'OK';
    return {
      status,
      revision,
      signer: this.#signer,
      last_activation: this.#lastActivation,
      last_error: this.#lastError,
    };
  }

  /**
   * Checks a bundle in its worker, refuses a revision that is not newer than `previous`
   * (unless `allowRollback`), then instantiates it here, beside the active one. Start
   * takes the same path: no decisions wait yet, but a bundle that never finishes loading
   * must fail the start rather than hang it. The warnings are logged only once the
   * bundle is active, so each one means an unsigned bundle (or a rollback) is in force.
   */
  async #load(raw: Buffer, previous: string | null, allowRollback: boolean, seen?: Seen): Promise<Loaded> {
    const { maxBytes, trust, scope, allowUnsigned, requireSignature } = this.#options;
    const rule = { trust, scope, allowUnsigned, requireSignature };
    const checked = await this.#trial.run(
      { bytes: raw, maxBytes, rule },
      this.#options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS,
    );
    if (seen) seen.revision = checked.revision;
    const rollback = previous !== null && compareRevisions(checked.revision, previous) <= 0;
    if (rollback && !allowRollback) throw rollbackError(checked.revision, previous);
    const engine = await loadPolicyEngine(await parseBundle(raw, maxBytes));
    return { engine, signer: checked.signer, unsignedAllowed: checked.unsignedAllowed, rollback };
  }

  /** Logs an activation (and what it recovered from), then the warnings of what it let in. */
  #activated(loaded: Loaded, previous: string | null, recovered: PolicyStatus['last_error']): void {
    const detail = { revision: loaded.engine.revision, previous, path: this.#options.path };
    const info = { ...detail, signer: loaded.signer, ...(recovered && { recovered: recovered.message }) };
    this.#log.info?.(
      info,
      recovered ? 'policy bundle activated; the last error is resolved' : 'policy bundle activated',
    );
    if (loaded.unsignedAllowed) {
      this.#log.warn(
        detail,
        'activated an UNSIGNED policy bundle: trusted keys are configured, but policy.signing.allow_unsigned is on',
      );
    }
    if (loaded.rollback)
      this.#log.warn(
        detail,
        'activated a policy bundle whose revision is not newer than the previous one: the reload allowed a rollback',
      );
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload().catch(() => undefined), this.#options.debounceMs);
    this.#timer.unref();
  }

  async #reload(allowRollback: boolean): Promise<string> {
    const previous = this.#options.active.revision;
    const { path } = this.#options;
    const seen: Seen = { revision: null };
    try {
      const raw = await readBundleBytes(path);
      const digest = hash('sha256', raw, 'hex');
      if (digest === this.#loadedHash && previous !== null) {
        const recovered = this.#lastError;
        if (recovered) this.#log.info?.({ revision: previous, path, recovered: recovered.message }, UNCHANGED);
        this.#lastError = null;
        this.#options.settled?.('unchanged');
        return previous;
      }
      const loaded = await this.#load(raw, previous, allowRollback, seen);
      const { engine, signer } = loaded;
      const allowed = {
        ...(loaded.unsignedAllowed && { unsigned_allowed: true }),
        ...(loaded.rollback && { rollback_allowed: true }),
      };
      // Record first: a policy that cannot be audited is not activated.
      await this.#options.audit.append(
        policyRecord('policy.activated', this.#now(), engine.revision, { previous, signer, ...allowed }),
      );
      this.#options.active.activate(engine);
      this.#signer = signer;
      this.#loadedHash = digest;
      const recovered = this.#lastError;
      this.#lastError = null;
      this.#lastActivation = { revision: engine.revision, at: new Date(this.#now()).toISOString() };
      this.#options.observe?.('activated');
      this.#activated(loaded, previous, recovered);
      this.#options.settled?.('activated');
      return engine.revision;
    } catch (err) {
      this.#options.observe?.('rejected');
      const reason = toReason(err);
      this.#lastError = { message: reason.message, at: new Date(this.#now()).toISOString() };
      // The rejected bundle's revision is known once its worker trial passed (a rollback, say).
      const detail = { revision: seen.revision, kept: previous, path, code: reason.code, message: reason.message };
      this.#log.error?.(detail, 'policy bundle rejected; the last good one stays active');
      await this.#options.audit
        .append(policyRecord('policy.rejected', this.#now(), previous, { reason, kept: previous }))
        .catch(() => undefined);
      this.#options.settled?.('rejected');
      throw err instanceof BundleInvalid ? err : new BundleInvalid(reason.message);
    }
  }
}

const UNCHANGED = 'policy bundle unchanged; the last error is resolved';

/** What a reload learnt of the bundle before it failed. */
interface Seen {
  revision: string | null;
}

interface Loaded {
  readonly engine: PolicyEngine;
  readonly signer: string | null;
  readonly unsignedAllowed: boolean;
  readonly rollback: boolean;
}

function rollbackError(revision: string, active: string): BundleRollback {
  const [got, have] = [JSON.stringify(revision), JSON.stringify(active)];
  return new BundleRollback(
    compareRevisions(revision, active) < 0
      ? `bundle revision ${got} is older than the active revision ${have}; ` +
          'an operator may allow a rollback for one reload'
      : `bundle revision ${got} is the active revision, but the bundle differs; give a changed bundle a newer revision`,
  );
}

/** Hidden and temporary files are not bundles; Kubernetes' `..data` swap is a change. */
function ignorable(name: string): boolean {
  if (name === '..data') return false;
  return name.startsWith('.') || name.endsWith('~') || name.endsWith('.swp') || name.endsWith('.tmp');
}

function policyRecord(
  kind: 'policy.activated' | 'policy.rejected',
  now: number,
  revision: string | null,
  detail: Record<string, unknown>,
): AuditRecord {
  return auditRecord(kind, now, 'mcp-warden', { policy_revision: revision, detail });
}
