import type { FastifyInstance } from 'fastify';
import { PROXY_CALLER } from '../../src/cli/proxy.ts';
import { upstreamIdentityJwks, type UpstreamIdentitySigner } from '../../src/decision/upstream-identity.ts';
import { readBundleFile } from '../../src/policy/bundle.ts';
import { loadPolicyEngine } from '../../src/policy/engine.ts';
import { buildProxyApp, type ProxyOptions } from '../../src/proxy/app.ts';
import { inProcessWarden } from '../../src/pep/in-process.ts';
import type { ApprovalStore } from '../../src/approval/record.ts';
import { gatedEngine, withApprovals } from './approvals.ts';
import { createTestCore, type TestCore } from './core.ts';
import { fixtureBundle } from './paths.ts';

/** The resource (token audience) the test proxy protects. */
export const RESOURCE = 'https://mcp.example.com/everything';

export interface TestProxy {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly core: TestCore;
  /** A token for `sub` with OAuth scopes, bound to the proxy's resource, valid for two hours of the fake clock. */
  token(sub: string, scope: string, claims?: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The enforcement proxy in this process, deciding in-process over a test core (fake
 * clock, in-memory store and audit) with a compiled bundle (default: the default Rego
 * with server-everything's catalogue), in front of `upstreamUrl`.
 */
export async function startTestProxy(
  upstreamUrl: string,
  options: {
    bundle?: string;
    upstream?: Partial<ProxyOptions['upstream']>;
    more?: Partial<ProxyOptions>;
    /** Identity assertions for the upstream: signed by the test core, sent in `upstream.identityHeader`. */
    upstreamIdentity?: UpstreamIdentitySigner;
    /** Approvals kept in this store (`withApprovals`): `core.deps` then has them. */
    approvals?: ApprovalStore;
    /** Tools whose allowed calls get this `approval` obligation (`gatedEngine` over the bundle). */
    gated?: Record<string, unknown>;
  } = {},
): Promise<TestProxy> {
  const loaded = await loadPolicyEngine(
    await readBundleFile(options.bundle ?? fixtureBundle('catalogue-everything'), 64 << 20),
  );
  const engine = options.gated === undefined ? loaded : gatedEngine(loaded, options.gated);
  const core = await createTestCore({ engine, upstreamIdentity: options.upstreamIdentity });
  if (options.approvals !== undefined) core.deps = withApprovals(core.deps, options.approvals);
  const app = await buildProxyApp({
    warden: inProcessWarden(core.deps, PROXY_CALLER),
    upstream: { url: upstreamUrl, headers: {}, timeoutMs: 5_000, connections: 8, ...options.upstream },
    upstreamProtocol: 'auto',
    streams: { checkMs: 100, unavailableGraceMs: 1_000 },
    path: '/mcp',
    identity: {
      resource: RESOURCE,
      authorizationServers: [core.idp.issuer.issuer],
      scopesSupported: ['mcp:read', 'mcp:write', 'mcp:admin'],
      metadataUrl: 'http://127.0.0.1/.well-known/oauth-protected-resource/mcp',
    },
    allowedOrigins: [],
    loopback: true,
    widenOnDemand: true,
    insufficientScopeReasons: [
      'tool_not_permitted',
      'destructive_requires_role',
      'prompt_not_permitted',
      'resource_not_permitted',
    ],
    maxSessions: 1000,
    bodyLimit: 1 << 20,
    upstreamIdentityJwks: options.upstreamIdentity && upstreamIdentityJwks(options.upstreamIdentity),
    ...options.more,
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: `${address}/mcp`,
    app,
    core,
    token: (sub, scope, claims = {}) =>
      core.idp.mint({ scope, roles: [], ...claims }, { subject: sub, audience: RESOURCE, expiresIn: 7200 }),
    stop: () => app.close(),
  };
}

/** The JSON-RPC `initialize` of MCP 2025-11-25 a minimal client sends. */
export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'e2e', version: '1' } },
};

/** POSTs a legacy `initialize` to an MCP endpoint, as a raw client would, with extra headers (a token). */
export function postInitialize(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(INITIALIZE),
  });
}
