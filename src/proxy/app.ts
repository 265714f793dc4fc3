import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { Warden } from '../pep/warden.ts';
import { handleDelete, handleGet, handlePost, type ProxyContext } from './endpoint.ts';
import { RequestGate } from './gate.ts';
import { originProblem } from './origin-guard.ts';
import { UPSTREAM_IDENTITY_JWKS_PATH } from '../decision/upstream-identity.ts';
import { IMPLEMENTED_OBLIGATIONS } from '../pep/obligations.ts';
import { PendingIds } from '../pep/pending-ids.ts';
import { StreamSupervisor } from '../pep/stream-supervisor.ts';
import { RpcCode, rpcError } from '../pep/message.ts';
import { UpstreamEras, type UpstreamProtocol } from './upstream-eras.ts';
import { metadataPaths, resourceMetadata, type ResourceIdentity } from './resource-server.ts';
import { SessionMap } from './session-map.ts';
import { Upstream, type UpstreamOptions } from './upstream.ts';

export interface ProxyOptions {
  readonly warden: Warden;
  readonly upstream: UpstreamOptions;
  /** The eras the upstream speaks, or `auto` to probe them. */
  readonly upstreamProtocol: UpstreamProtocol;
  /** How often open streams' authority is checked, and how long a stream outlives an unreachable warden. */
  readonly streams: { readonly checkMs: number; readonly unavailableGraceMs: number };
  /** The MCP endpoint's path on the proxy. */
  readonly path: string;
  readonly identity: ResourceIdentity;
  readonly allowedOrigins: readonly string[];
  /** The proxy listens on loopback only: loopback origins and hosts are allowed. */
  readonly loopback: boolean;
  /** The host (name:port) of the public URL clients use. */
  readonly publicHost?: string | undefined;
  readonly widenOnDemand: boolean;
  readonly insufficientScopeReasons: readonly string[];
  readonly maxSessions: number;
  readonly bodyLimit: number;
  readonly logger?: FastifyServerOptions['logger'];
  /** Shutdown: requests in flight are counted here, new ones refused once it drains. */
  readonly gate?: RequestGate;
  /**
   * The public keys of the identity assertions the upstream receives, served at
   * {@link UPSTREAM_IDENTITY_JWKS_PATH} when the proxy decides in process.
   */
  readonly upstreamIdentityJwks?: { readonly keys: readonly object[] } | undefined;
}

/**
 * The enforcement proxy: an MCP Streamable HTTP endpoint in front of one upstream MCP
 * server, asking the warden about every message before it is forwarded. Not listening;
 * `close()` releases the upstream pool and the warden client.
 */
export async function buildProxyApp(options: ProxyOptions): Promise<FastifyInstance> {
  // Long-lived SSE streams must not hold a shutdown open: close() ends them.
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: options.bodyLimit, forceCloseConnections: true });
  const upstream = new Upstream(options.upstream);
  const supervisor = new StreamSupervisor({
    warden: options.warden,
    intervalMs: options.streams.checkMs,
    unavailableGraceMs: options.streams.unavailableGraceMs,
  });
  const ctx: ProxyContext = {
    warden: options.warden,
    upstream,
    eras: new UpstreamEras(upstream, options.upstreamProtocol),
    sessions: new SessionMap(options.maxSessions),
    pending: new PendingIds(),
    supervisor,
    identity: options.identity,
    widenOnDemand: options.widenOnDemand,
    obligations: new Set(IMPLEMENTED_OBLIGATIONS.proxy),
    insufficientScope: new Set(options.insufficientScopeReasons),
  };
  const originPolicy = {
    allowedOrigins: new Set(options.allowedOrigins),
    loopback: options.loopback,
    publicHost: options.publicHost,
  };

  app.removeAllContentTypeParsers();
  // The body is kept as bytes: parsed once to decide, forwarded unchanged when all is allowed.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => {
    done(Object.assign(new Error('Unsupported Media Type: the body must be application/json'), { statusCode: 415 }));
  });

  // DNS rebinding: a browser page of another origin must not reach a local MCP server.
  app.addHook('onRequest', async (request, reply) => {
    const problem = originProblem(originPolicy, request.headers.origin, request.headers.host);
    if (problem === null) return undefined;
    return reply
      .code(403)
      .type('application/json')
      .send(JSON.stringify(rpcError(null, RpcCode.invalidRequest, `Forbidden: ${problem}`)));
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'proxy failure');
    const message = status === 500 ? 'Internal error' : error.message;
    return reply
      .code(status)
      .type('application/json')
      .send(JSON.stringify(rpcError(null, status === 500 ? -32603 : RpcCode.invalidRequest, message)));
  });

  for (const path of metadataPaths(options.path)) {
    app.get(path, async () => resourceMetadata(options.identity));
  }
  const jwks = options.upstreamIdentityJwks;
  if (jwks !== undefined) {
    app.get(UPSTREAM_IDENTITY_JWKS_PATH, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=300').type('application/json').send(JSON.stringify(jwks)),
    );
  }
  const gate = options.gate ?? new RequestGate();
  const gated =
    (handler: typeof handlePost) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      if (!gate.enter()) {
        return reply
          .code(503)
          .header('connection', 'close')
          .type('application/json')
          .send(
            JSON.stringify(
              rpcError(null, RpcCode.upstreamUnavailable, 'Service Unavailable: the proxy is shutting down'),
            ),
          );
      }
      try {
        return await handler(ctx, request, reply);
      } finally {
        gate.leave();
      }
    };
  app.post(options.path, gated(handlePost));
  app.get(options.path, gated(handleGet));
  app.delete(options.path, gated(handleDelete));

  // `auto`: the upstream's eras are probed before the proxy takes its first request.
  app.addHook('onReady', async () => {
    await ctx.eras.speaks();
  });
  app.addHook('onClose', async () => {
    supervisor.stop();
    await upstream.close();
    await options.warden.close();
  });
  return app;
}
