import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import { createApprovalStore } from './approval/create-store.ts';
import { approvalPageUrl } from './approval/page-url.ts';
import { createAuditSink } from './audit/create-sink.ts';
import { checkpointVerifierKey } from './audit/checkpoint.ts';
import { maskRules } from './audit/mask.ts';
import { type ConsoleConfig, consoleConfigSchema } from './config/console.ts';
import { consoleUrl } from './config/own-url.ts';
import type { Config } from './config/schema.ts';
import { sweepApprovals } from './decision/approval-sweep.ts';
import type { CoreDeps } from './decision/deps.ts';
import { loadUpstreamIdentitySigner } from './decision/upstream-identity.ts';
import { loadDevIssuer } from './identity/dev-issuer.ts';
import { isSafeKeyUrl, KEY_URL_RULE } from './identity/key-url.ts';
import { readJwksFile } from './keys/jwks-file.ts';
import { loadOrCreateSecretKey } from './keys/secret-key.ts';
import { createTokenVerifier } from './identity/verifier.ts';
import { instrumentAuditSink } from './metrics/instrumented-audit.ts';
import { instrumentSessionStore } from './metrics/instrumented-sessions.ts';
import { ServiceMetrics } from './metrics/service-metrics.ts';
import { ActivePolicy } from './policy/active.ts';
import { PolicyReloader, type PolicyStatus } from './policy/reloader.ts';
import type { BundleTrust } from './policy/signature.ts';
import { buildApp } from './server/app.ts';
import { pageMount } from './server/approval-page/mount.ts';
import { consoleMount } from './server/console/mount.ts';
import type { ConsoleOptions } from './server/console/plugin.ts';
import type { ApprovalPageOptions } from './server/approval-page/plugin.ts';
import { createCallerAuth } from './server/caller.ts';
import { Lifecycle } from './server/lifecycle.ts';
import { isLoopback } from './server/loopback.ts';
import { apiOriginPolicy } from './server/origin-guard.ts';
import { createSharedUse } from './shared-use/create.ts';
import { createSessionStore } from './session/create-store.ts';

function bundleTrust(signing: Config['policy']['signing']): BundleTrust | undefined {
  if (signing.jwks) return { keys: signing.jwks as JSONWebKeySet };
  if (signing.jwks_file) return { keys: readJwksFile(signing.jwks_file, 'policy.signing.jwks_file') };
  return undefined;
}

/** The running core of one process: decision deps and the long-lived parts behind them. */
export interface RunningCore {
  readonly core: CoreDeps;
  readonly reloader: PolicyReloader;
  readonly devIssuer: Awaited<ReturnType<typeof loadDevIssuer>> | undefined;
  /** Stops the reloader, the session store and the audit sink (flushing it). */
  stop(): Promise<void>;
}

/**
 * Why dev mode may not listen on `host`, or null. Dev mode trusts a local issuer whose
 * tokens anyone who can reach `/v1/dev/token` mints, so it serves loopback only, whatever
 * the command (`serve`, its workers, `proxy`).
 */
export function devBindProblem(dev: boolean, host: string): string | null {
  if (!dev || isLoopback(host)) return null;
  return `refusing dev mode on ${host}: dev mode trusts a local issuer and is for loopback only (listen on 127.0.0.1)`;
}

/**
 * Why a service without API keys may not listen on `host`, or null: without keys every
 * caller is `local`, which only loopback can justify.
 */
export function keylessBindProblem(config: Pick<Config, 'callers' | 'server'>): string | null {
  if (config.callers.api_keys.length > 0 || isLoopback(config.server.host)) return null;
  return (
    `refusing to listen on ${config.server.host}: no API keys are configured (callers.api_keys), ` +
    'so only loopback is allowed'
  );
}

/**
 * The approval page's options (config `approvals.sign_in`), or undefined when no page is
 * served (no sign-in, or approvals off). Throws a start-up error when the page cannot work:
 * no page URL, an issuer reached in the clear, an unreadable client secret.
 */
export function approvalPageOptions(config: Pick<Config, 'approvals' | 'server'>): ApprovalPageOptions | undefined {
  const signIn = config.approvals.sign_in;
  if (signIn === undefined || !config.approvals.enabled) return undefined;
  const pageUrl = approvalPageUrl(config);
  if (pageUrl === null) {
    throw new Error(
      'approvals.sign_in needs approvals.page_url (or a fixed server.port): the sign-in returns to <page_url>/callback',
    );
  }
  pageMount(pageUrl);
  if (!isSafeKeyUrl(signIn.issuer)) {
    throw new Error(`approvals.sign_in.issuer ${KEY_URL_RULE}: the sign-in's codes and tokens travel to it`);
  }
  const clientSecret =
    signIn.client_secret_file === undefined ? undefined : readSecret('approvals.sign_in', signIn.client_secret_file);
  return {
    pageUrl,
    signIn: { issuer: signIn.issuer, clientId: signIn.client_id, clientSecret, scopes: signIn.scopes },
  };
}

/** A client secret from its file, trimmed; a start-up error naming the setting when unreadable or empty. */
function readSecret(setting: string, file: string): string {
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`${setting}.client_secret_file: cannot read ${file} (${reason})`);
  }
  if (secret === '') throw new Error(`${setting}.client_secret_file: ${file} is empty`);
  return secret;
}

/**
 * The console's options (config `console`), or undefined when none is served. In dev mode
 * without one, a console at `/console` on the listen address (a fixed port) that an admin
 * API key signs in to. Throws a start-up error when it cannot work: an issuer the service
 * does not trust or reaches in the clear, an audience it does not accept, an unreadable
 * secret, no sign-in outside dev mode.
 */
export function consoleOptions(config: Config): ConsoleOptions | undefined {
  const dev = config.server.dev;
  const settings = config.console ?? (dev ? devConsole(config) : undefined);
  if (settings === undefined) return undefined;
  consoleMount(settings.url);
  const audience = settings.audience ?? settings.url;
  const signIn = settings.sign_in;
  if (signIn === undefined && !dev) {
    throw new Error('console.sign_in: required; an admin API key signs in to the console in dev mode only');
  }
  return {
    url: settings.url,
    audience,
    signIn: signIn === undefined ? undefined : consoleSignIn(config, signIn, audience),
    keySignIn: dev,
    roles: settings.roles,
    sessionTtlSeconds: settings.session_ttl_seconds,
    review: settings.review,
    trail: {
      sink: config.audit.sink,
      witnesses: config.audit.witnesses.map((w) => w.url),
      requireWitness: config.audit.require_witness,
      vkey: () => checkpointVerifierKey(config.audit.checkpoint_key_file, config.audit.log_name),
    },
    approvalPageUrl: config.approvals.enabled ? approvalPageUrl(config) : null,
  };
}

/** The dev-mode console: `/console` on the listen address, when the port is fixed. */
function devConsole(config: Config): ConsoleConfig | undefined {
  const url = consoleUrl(config);
  return url === null ? undefined : consoleConfigSchema.parse({ url });
}

/** The console's OIDC client, checked: its issuer trusted and safe to reach, its audience accepted. */
function consoleSignIn(
  config: Config,
  signIn: NonNullable<ConsoleConfig['sign_in']>,
  audience: string,
): NonNullable<ConsoleOptions['signIn']> {
  if (!isSafeKeyUrl(signIn.issuer)) {
    throw new Error(`console.sign_in.issuer ${KEY_URL_RULE}: the sign-in's codes and tokens travel to it`);
  }
  // The console verifies its users' tokens like any other: the issuer and audience must be trusted.
  const bare = (url: string) => url.replace(/\/+$/, '');
  const trusted = config.identity.issuers.find((i) => bare(i.issuer) === bare(signIn.issuer));
  if (trusted === undefined) {
    throw new Error(
      `console.sign_in.issuer: ${signIn.issuer} is not in identity.issuers, so its tokens cannot be verified`,
    );
  }
  const { servers } = config.identity;
  if ((servers.length > 0 && !servers.includes(audience)) || (trusted.servers && !trusted.servers.includes(audience))) {
    throw new Error(`console: its audience ${audience} is not in identity.servers (or the issuer's servers): add it`);
  }
  const clientSecret =
    signIn.client_secret_file === undefined ? undefined : readSecret('console.sign_in', signIn.client_secret_file);
  return { issuer: signIn.issuer, clientId: signIn.client_id, clientSecret, scopes: signIn.scopes };
}

/** How a core is started: where its listener binds (for the dev-mode rule) and who sees its parts. */
export interface CoreOptions {
  /** The address the app in front of this core listens on. */
  readonly host: string;
  readonly metrics?: ServiceMetrics | undefined;
}

/**
 * Starts the configured verifier, session store, audit sink and policy reloader; `metrics`
 * sees them all. Throws, before starting anything, when dev mode would bind beyond loopback.
 */
export async function startCore(config: Config, options: CoreOptions): Promise<RunningCore> {
  const problem = devBindProblem(config.server.dev, options.host);
  if (problem !== null) throw new Error(problem);
  const { metrics } = options;
  const devIssuer = config.server.dev ? await loadDevIssuer(config.server.dev_key_file) : undefined;
  const issuers = devIssuer ? [...config.identity.issuers, devIssuer.issuerConfig] : config.identity.issuers;
  const verifier = createTokenVerifier({
    issuers,
    trustDomains: config.identity.spiffe.trust_domains,
    servers: config.identity.servers,
    cacheSize: config.identity.token_cache_size,
    maxTokenBytes: config.identity.max_token_bytes,
    maxActorDepth: config.identity.delegation.max_depth,
  });
  const upstreamIdentity = await loadUpstreamIdentitySigner(config.identity.upstream_assertion);
  const store = createSessionStore(config.session);
  const approvalStore = config.approvals.enabled ? createApprovalStore(config.session, config.approvals) : undefined;
  const sharedUse = createSharedUse(config.identity.shared_accounts, config.session);
  const sink = (await createAuditSink(config.audit)).sink;
  const sessions = metrics ? instrumentSessionStore(store, metrics, config.session.store) : store;
  const audit = metrics ? instrumentAuditSink(sink, metrics, config.audit.sink) : sink;
  await sessions.start();
  await approvalStore?.start();
  await sharedUse.start();
  await audit.start();
  const policy = new ActivePolicy();
  const reloader = new PolicyReloader({
    path: config.policy.bundle,
    maxBytes: config.policy.max_bundle_bytes,
    active: policy,
    audit,
    watch: config.policy.watch,
    debounceMs: config.policy.reload_debounce_ms,
    trust: bundleTrust(config.policy.signing),
    scope: config.policy.signing.scope,
    requireSignature: config.policy.signing.require_signature,
    allowUnsigned: config.policy.signing.allow_unsigned,
    loadTimeoutMs: config.policy.load_timeout_ms,
    observe: metrics && ((outcome) => metrics.policyActivation(outcome)),
  });
  try {
    await reloader.start();
  } catch (err) {
    await sessions.stop();
    await approvalStore?.stop();
    await sharedUse.stop();
    await audit.stop();
    throw err;
  }
  const core: CoreDeps = {
    verifier,
    sessions,
    policy,
    audit,
    mask: maskRules(config.audit.mask_keys, config.audit.mask_pointers),
    clock: Date.now,
    stateKey:
      config.session.request_state_key_file === undefined
        ? new Uint8Array(randomBytes(32))
        : loadOrCreateSecretKey(config.session.request_state_key_file),
    limits: { maxTtlSeconds: config.session.max_ttl_seconds, maxIdleSeconds: config.session.max_idle_seconds },
    adminRevoke: config.session.admin_revoke,
    upstreamIdentity,
    sharedUse,
    approvals: approvalStore && {
      store: approvalStore,
      pageUrl: approvalPageUrl(config),
      requestTtlSeconds: config.approvals.request_ttl_seconds,
      grantTtlSeconds: config.approvals.grant_ttl_seconds,
      maxRequestTtlSeconds: config.approvals.max_request_ttl_seconds,
      maxGrantTtlSeconds: config.approvals.max_grant_ttl_seconds,
    },
    observe: metrics,
  };
  metrics?.watch({ sessions, policyRevision: () => policy.revision });
  // Expiries are recorded by whichever replica sweeps first; a failed sweep is retried by the next.
  const sweeper =
    approvalStore &&
    setInterval(
      () => void sweepApprovals(core, 'approvals').catch(() => undefined),
      config.approvals.sweep_interval_seconds * 1000,
    );
  sweeper?.unref();
  return {
    core,
    reloader,
    devIssuer,
    stop: async () => {
      clearInterval(sweeper);
      await reloader.stop();
      await sessions.stop();
      await approvalStore?.stop();
      await sharedUse.stop();
      await audit.stop();
    },
  };
}

/**
 * Wires the configured parts into an app (not yet listening); `app.close()` stops them all.
 * `lifecycle` is how a caller drains it for shutdown (see `server/shutdown.ts`).
 */
export async function createService(
  config: Config,
  logger: boolean | Record<string, unknown> = false,
  lifecycle: Lifecycle = new Lifecycle(),
): Promise<FastifyInstance> {
  const keyless = keylessBindProblem(config);
  if (keyless !== null) throw new Error(keyless);
  // Without keys, `local` operates (admin routes) only in dev mode: see docs/security.md.
  const auth = createCallerAuth(config.callers.api_keys, { localAdmin: config.server.dev });
  const approvalPage = approvalPageOptions(config);
  const consolePage = consoleOptions(config);
  const metrics = new ServiceMetrics();
  const running = await startCore(config, { host: config.server.host, metrics });
  const { core, reloader, devIssuer } = running;
  const { server } = config;
  const app = await buildApp({
    core,
    auth,
    reloader,
    bodyLimit: server.body_limit_bytes,
    logger,
    devIssuer,
    jsonLimits: { maxDepth: server.max_json_depth, maxKeys: server.max_json_keys },
    requestTimeoutMs: server.request_timeout_ms,
    rateLimit: server.rate_limit && { max: server.rate_limit.max, timeWindowMs: server.rate_limit.time_window_ms },
    metrics,
    lifecycle,
    origins: apiOriginPolicy({
      loopback: isLoopback(server.host),
      allowedHosts: server.allowed_hosts,
      allowedOrigins: server.allowed_origins,
    }),
    approvalPage,
    console: consolePage,
  });
  app.addHook('onClose', running.stop);
  app.decorate('policyStatus', () => reloader.status());
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The policy's status (revision, signer, last error), for the start-up banner. */
    policyStatus(): PolicyStatus;
  }
}
