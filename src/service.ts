import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import { createAuditSink } from './audit/create-sink.ts';
import { maskRules } from './audit/mask.ts';
import type { Config } from './config/schema.ts';
import type { CoreDeps } from './decision/deps.ts';
import { loadDevIssuer } from './identity/dev-issuer.ts';
import { createTokenVerifier } from './identity/verifier.ts';
import { ActivePolicy } from './policy/active.ts';
import { PolicyReloader } from './policy/reloader.ts';
import type { BundleTrust } from './policy/signature.ts';
import { buildApp } from './server/app.ts';
import { createCallerAuth } from './server/caller.ts';
import { isLoopback } from './server/loopback.ts';
import { createSessionStore } from './session/create-store.ts';

function bundleTrust(signing: Config['policy']['signing']): BundleTrust | undefined {
  if (signing.jwks) return { keys: signing.jwks as JSONWebKeySet };
  if (signing.jwks_file) return { keys: JSON.parse(readFileSync(signing.jwks_file, 'utf8')) as JSONWebKeySet };
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

/** Starts the configured verifier, session store, audit sink and policy reloader. */
export async function startCore(config: Config): Promise<RunningCore> {
  const devIssuer = config.server.dev ? await loadDevIssuer(config.server.dev_key_file) : undefined;
  const issuers = devIssuer ? [...config.identity.issuers, devIssuer.issuerConfig] : config.identity.issuers;
  const verifier = createTokenVerifier({
    issuers,
    trustDomains: config.identity.spiffe.trust_domains,
    servers: config.identity.servers,
    cacheSize: config.identity.token_cache_size,
    maxTokenBytes: config.identity.max_token_bytes,
  });
  const sessions = createSessionStore(config.session);
  const { sink: audit } = await createAuditSink(config.audit);
  await sessions.start();
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
  });
  try {
    await reloader.start();
  } catch (err) {
    await sessions.stop();
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
    limits: { maxTtlSeconds: config.session.max_ttl_seconds, maxIdleSeconds: config.session.max_idle_seconds },
  };
  return {
    core,
    reloader,
    devIssuer,
    stop: async () => {
      await reloader.stop();
      await sessions.stop();
      await audit.stop();
    },
  };
}

/** Wires the configured parts into an app (not yet listening); `app.close()` stops them all. */
export async function createService(config: Config, logger: boolean | Record<string, unknown> = false): Promise<FastifyInstance> {
  const auth = createCallerAuth(config.callers.api_keys);
  if (!auth.enabled && !isLoopback(config.server.host)) {
    throw new Error(
      `refusing to listen on ${config.server.host}: no API keys are configured (callers.api_keys), so only loopback is allowed`,
    );
  }
  if (config.server.dev && !isLoopback(config.server.host)) {
    throw new Error(`refusing dev mode on ${config.server.host}: dev mode is for loopback only`);
  }
  const running = await startCore(config);
  const { core, reloader, devIssuer } = running;
  const app = await buildApp({ core, auth, reloader, bodyLimit: config.server.body_limit_bytes, logger, devIssuer });
  app.addHook('onClose', running.stop);
  return app;
}
