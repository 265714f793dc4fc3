import { createServer } from 'node:net';
import { upstreamAssertionConfigSchema } from '../config/identity.ts';
import type { Config } from '../config/schema.ts';
import { upstreamIdentityJwks } from '../decision/upstream-identity.ts';
import { buildProxyApp } from '../proxy/app.ts';
import { RequestGate } from '../proxy/gate.ts';
import { isLoopback } from '../server/loopback.ts';
import { metadataPaths } from '../proxy/resource-server.ts';
import type { Warden } from '../pep/warden.ts';
import { devBindProblem, startCore } from '../service.ts';
import { parseFlags, portFlag } from './args.ts';
import { commandConfig } from './config.ts';
import { listenFailure } from './listen-failure.ts';
import { stopOnSignals } from './stop-on-signals.ts';

/** The caller id the in-process proxy records in every decision and session. */
export const PROXY_CALLER = { id: 'mcp-warden-proxy', role: 'pep' } as const;

/** `mcp-warden proxy --upstream <url>`: the enforcement proxy in front of one MCP server. */
export async function proxyCommand(args: string[]): Promise<number> {
  const values = parseFlags(args, {
    config: { type: 'string' },
    upstream: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    resource: { type: 'string' },
    warden: { type: 'string' },
    bundle: { type: 'string' },
    dev: { type: 'boolean' },
    'require-neighbours': { type: 'boolean' },
  });
  const config = commandConfig({
    file: values.config,
    overrides: {
      server: { dev: values.dev },
      policy: { bundle: values.bundle },
      proxy: {
        host: values.host,
        port: portFlag(values.port),
        resource: values.resource,
        upstream: values.upstream === undefined ? undefined : { url: values.upstream },
        warden: values.warden === undefined ? undefined : { url: values.warden },
      },
    },
  });
  if (config === null) return 2;
  const { proxy } = config;
  // Refused before anything starts or listens, whatever decides behind the proxy.
  const bindProblem = devBindProblem(config.server.dev, proxy.host);
  if (bindProblem !== null) {
    console.error(`proxy: ${bindProblem}`);
    return 2;
  }
  if (proxy.upstream.url === undefined) {
    console.error('proxy: --upstream <url> (or proxy.upstream.url) is required');
    return 2;
  }
  // The decision service and the upstream, checked before listening: a warning, or with
  // --require-neighbours a refusal (exit 1).
  const { unansweredNeighbours } = await import('./neighbours.ts');
  const unanswered = await unansweredNeighbours({
    warden: proxy.warden?.url,
    upstream: proxy.upstream.url,
    timeoutMs: 2_000,
  });
  for (const line of unanswered) console.error(`proxy: ${values['require-neighbours'] ? '' : 'warning: '}${line}`);
  if (unanswered.length > 0 && values['require-neighbours']) return 1;
  const port = proxy.port === 0 ? await freePort(proxy.host) : proxy.port;
  const publicUrl = (
    proxy.public_url ?? `http://${proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host}:${port}`
  ).replace(/\/$/, '');
  const resource = proxy.resource ?? `${publicUrl}${proxy.path}`;
  const authorizationServers =
    proxy.authorization_servers ?? config.identity.issuers.map((i) => i.issuer).filter((i) => /^https?:/.test(i));
  const problem = identityProblem(resource, `${publicUrl}${proxy.path}`, authorizationServers, config.server.dev);
  if (problem !== null) {
    console.error(`proxy: ${problem}`);
    return 2;
  }
  const { warden, stop, upstreamIdentityJwks } = await connectWarden(withUpstreamAudience(config, resource));
  const gate = new RequestGate();
  const app = await buildProxyApp({
    gate,
    warden,
    upstream: {
      url: proxy.upstream.url,
      headers: proxy.upstream.headers,
      timeoutMs: proxy.upstream.timeout_ms,
      connections: proxy.upstream.connections,
      identityHeader: proxy.upstream.identity_header,
    },
    upstreamIdentityJwks,
    upstreamProtocol: proxy.upstream.protocol,
    streams: { checkMs: proxy.streams.check_ms, unavailableGraceMs: proxy.streams.unavailable_grace_ms },
    path: proxy.path,
    identity: {
      resource,
      authorizationServers,
      scopesSupported: proxy.scopes_supported,
      metadataUrl: `${publicUrl}${metadataPaths(proxy.path)[0]}`,
    },
    allowedOrigins: proxy.allowed_origins,
    loopback: isLoopback(proxy.host),
    publicHost: new URL(publicUrl).host,
    widenOnDemand: proxy.widen_on_demand,
    insufficientScopeReasons: proxy.insufficient_scope_reasons,
    maxSessions: proxy.max_sessions,
    bodyLimit: proxy.body_limit_bytes,
    logger: { level: config.server.log_level },
  });
  app.addHook('onClose', stop);
  try {
    await app.listen({ host: proxy.host, port });
  } catch (err) {
    console.error(`proxy: ${listenFailure(err, { host: proxy.host, port, section: 'proxy' })}`);
    // The core behind the proxy (audit sink, session store, policy watcher) would keep the process alive.
    await app.close();
    return 1;
  }
  // One line on stdout, for scripts: where clients connect.
  console.log(`proxy listening on ${publicUrl}${proxy.path} (upstream ${proxy.upstream.url})`);
  // Requests in flight, streams included, finish within the grace while new ones get 503;
  // the proxy has no readiness probe of its own, so the delay only keeps it serving.
  const { shutdown_delay_ms: delayMs, shutdown_grace_ms: graceMs } = config.server;
  const target = { drain: () => undefined, settle: (ms: number) => gate.drain(ms) };
  stopOnSignals({ app, target, delayMs, graceMs });
  return -1;
}

/**
 * The config of an in-process proxy whose upstream takes identity assertions: unless the
 * config names another audience for the proxy's resource, it is the upstream's URL. A
 * remote decision service signs with its own config.
 */
export function withUpstreamAudience(config: Config, resource: string): Config {
  const { proxy } = config;
  if (proxy.warden !== undefined || proxy.upstream.identity_header === undefined || proxy.upstream.url === undefined)
    return config;
  const assertion = config.identity.upstream_assertion ?? upstreamAssertionConfigSchema.parse({});
  if (assertion.audiences[resource] !== undefined) return config;
  const audiences = { ...assertion.audiences, [resource]: proxy.upstream.url };
  return { ...config, identity: { ...config.identity, upstream_assertion: { ...assertion, audiences } } };
}

interface ConnectedWarden {
  readonly warden: Warden;
  readonly stop: () => Promise<void>;
  /** An in-process core's upstream-identity keys, for the proxy to publish. */
  readonly upstreamIdentityJwks?: { readonly keys: readonly object[] } | undefined;
}

/** The decision service behind the proxy: a remote one when configured, else this process's core. */
async function connectWarden(config: Config): Promise<ConnectedWarden> {
  const remote = config.proxy.warden;
  if (remote !== undefined) {
    const { createWardenClient } = await import('../pep/http-warden.ts');
    const { IMPLEMENTED_OBLIGATIONS } = await import('../pep/obligations.ts');
    const apiKey = process.env[remote.api_key_env];
    const warden = createWardenClient({
      url: remote.url,
      apiKey,
      timeoutMs: remote.timeout_ms,
      obligations: IMPLEMENTED_OBLIGATIONS.proxy,
    });
    return { warden, stop: async () => undefined };
  }
  const { inProcessWarden } = await import('../pep/in-process.ts');
  const running = await startCore(config, { host: config.proxy.host });
  const { upstreamIdentity } = running.core;
  return {
    warden: inProcessWarden(running.core, PROXY_CALLER),
    stop: running.stop,
    upstreamIdentityJwks: upstreamIdentity === undefined ? undefined : upstreamIdentityJwks(upstreamIdentity),
  };
}

/**
 * Why the protected-resource identity cannot work for clients, or null. RFC 9728 §3.3: a
 * client refuses metadata whose `resource` is not the URL it fetched it for (the SDK
 * does), so the resource must be the endpoint's own URL; and a client needs at least one
 * authorization server to get a token from, except in dev mode (loopback only), whose
 * tokens come from `mcp-warden dev-token`.
 */
export function identityProblem(
  resource: string,
  endpoint: string,
  authorizationServers: readonly string[],
  dev: boolean,
): string | null {
  if (resource !== endpoint) {
    return (
      `proxy.resource '${resource}' must be the endpoint's URL '${endpoint}' ` +
      '(public_url + path; RFC 9728 §3.3): set proxy.public_url instead'
    );
  }
  if (authorizationServers.length === 0 && !dev) {
    return (
      'proxy.authorization_servers must list at least one authorization server ' +
      '(none configured, and no issuer has an http(s) URL)'
    );
  }
  return null;
}

/** A port free on `host` now (the kernel's choice), for a URL that must be known before listening. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
