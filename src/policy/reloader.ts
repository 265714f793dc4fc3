import { hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { auditRecord, type AuditRecord, type AuditSink } from '../audit/record.ts';
import { BundleInvalid, toReason } from '../errors.ts';
import type { ActivePolicy } from './active.ts';
import { parseBundle, readBundleBytes, type Bundle } from './bundle.ts';
import { loadPolicyEngine, type PolicyEngine } from './engine.ts';
import { isSigned, verifyBundleSignature, type BundleTrust } from './signature.ts';

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

export interface ReloaderOptions {
  readonly path: string;
  readonly maxBytes: number;
  readonly active: ActivePolicy;
  readonly audit: AuditSink;
  /** Watch the bundle's directory; without it, only `reload()` (the admin route) loads. */
  readonly watch: boolean;
  readonly debounceMs: number;
  /** Keys trusted to sign bundles; a signed bundle is verified when they are given. */
  readonly trust?: BundleTrust | undefined;
  readonly scope?: string | undefined;
  /** Refuse unsigned bundles. */
  readonly requireSignature: boolean;
  /** Told of every activation (the first load included) and every rejected bundle, for metrics. */
  readonly observe?: ((outcome: 'activated' | 'rejected') => void) | undefined;
  readonly now?: () => number;
}

/**
 * Loads the bundle at `path` beside the active policy and swaps it in at once; decisions
 * in flight keep the engine they started with. A bundle that fails keeps the last good
 * one active, records `policy.rejected`, and turns the status to WARN. The watcher
 * debounces, ignores hidden and temporary files and the other files of the directory
 * (but not Kubernetes' `..data` swap), and re-reads the path on each event, so editors'
 * renames and ConfigMap symlink swaps are followed; an unchanged bundle is not reloaded.
 */
export class PolicyReloader {
  readonly #options: ReloaderOptions;
  readonly #now: () => number;
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #loadedHash: string | null = null;
  #lastActivation: PolicyStatus['last_activation'] = null;
  #signer: string | null = null;
  #lastError: PolicyStatus['last_error'] = null;
  #running: Promise<string> | undefined;

  constructor(options: ReloaderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Loads the bundle once (throws when it is bad: the service does not start without a policy), then watches. */
  async start(): Promise<void> {
    const raw = await readBundleBytes(this.#options.path);
    const { engine, signer } = await this.#load(raw);
    this.#options.active.activate(engine);
    this.#signer = signer;
    this.#loadedHash = hash('sha256', raw, 'hex');
    this.#lastActivation = { revision: engine.revision, at: new Date(this.#now()).toISOString() };
    this.#options.observe?.('activated');
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
    const watcher = watch(dir, { ignoreInitial: true, depth: 0, ignored: (p: string) => p !== dir && ignorable(basename(p)) });
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
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    this.#poll = undefined;
    await this.#watcher?.close();
    this.#watcher = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** Reloads now (one at a time); resolves to the active revision, rejects with `bundle_invalid`. */
  reload(): Promise<string> {
    const run = (this.#running ?? Promise.resolve('')).catch(() => '').then(() => this.#reload());
    this.#running = run;
    return run;
  }

  status(): PolicyStatus {
    const revision = this.#options.active.revision;
    const status = revision === null ? 'NOT_READY' : this.#lastError !== null ? 'WARN' : 'OK';
    return { status, revision, signer: this.#signer, last_activation: this.#lastActivation, last_error: this.#lastError };
  }

  /** Reads, verifies (signature) and instantiates a bundle, beside the active one. */
  async #load(raw: Buffer): Promise<{ engine: PolicyEngine; signer: string | null }> {
    const bundle: Bundle = await parseBundle(raw, this.#options.maxBytes);
    const { trust, requireSignature, scope } = this.#options;
    let signer: string | null = null;
    if (isSigned(bundle.files)) {
      if (trust !== undefined) signer = (await verifyBundleSignature(bundle.files, trust, { scope })).signer;
    } else if (requireSignature) {
      throw new BundleInvalid('the bundle is not signed, and policy.signing.require_signature is on');
    }
    return { engine: await loadPolicyEngine(bundle), signer };
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload().catch(() => undefined), this.#options.debounceMs);
    this.#timer.unref();
  }

  async #reload(): Promise<string> {
    const previous = this.#options.active.revision;
    try {
      const raw = await readBundleBytes(this.#options.path);
      const digest = hash('sha256', raw, 'hex');
      if (digest === this.#loadedHash && previous !== null) {
        this.#lastError = null;
        return previous;
      }
      const { engine, signer } = await this.#load(raw);
      // Record first: a policy that cannot be audited is not activated.
      await this.#options.audit.append(policyRecord('policy.activated', this.#now(), engine.revision, { previous, signer }));
      this.#options.active.activate(engine);
      this.#signer = signer;
      this.#loadedHash = digest;
      this.#lastError = null;
      this.#lastActivation = { revision: engine.revision, at: new Date(this.#now()).toISOString() };
      this.#options.observe?.('activated');
      return engine.revision;
    } catch (err) {
      this.#options.observe?.('rejected');
      const reason = toReason(err);
      this.#lastError = { message: reason.message, at: new Date(this.#now()).toISOString() };
      await this.#options.audit
        .append(policyRecord('policy.rejected', this.#now(), previous, { reason, kept: previous }))
        .catch(() => undefined);
      throw err instanceof BundleInvalid ? err : new BundleInvalid(reason.message);
    }
  }
}

/** Hidden and temporary files are not bundles; Kubernetes' `..data` swap is a change. */
function ignorable(name: string): boolean {
  if (name === '..data') return false;
  return name.startsWith('.') || name.endsWith('~') || name.endsWith('.swp') || name.endsWith('.tmp');
}

function policyRecord(kind: 'policy.activated' | 'policy.rejected', now: number, revision: string | null, detail: Record<string, unknown>): AuditRecord {
  return auditRecord(kind, now, 'mcp-warden', { policy_revision: revision, detail });
}
