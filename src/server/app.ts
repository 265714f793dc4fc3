import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { CoreDeps } from '../decision/deps.ts';
import type { DevIssuer } from '../identity/dev-issuer.ts';
import { HostNotAllowed, OriginNotAllowed, ShuttingDown } from '../errors.ts';
import type { ServiceMetrics } from '../metrics/service-metrics.ts';
import type { PolicyReloader } from '../policy/reloader.ts';
import { type ApprovalPageOptions, approvalPageRoutes } from './approval-page/plugin.ts';
import { isConsoleRoute, consoleMount } from './console/mount.ts';
import { type ConsoleOptions, consoleRoutes } from './console/plugin.ts';
import { isPageRoute, pageMount, withPageOrigin } from './approval-page/mount.ts';
import type { CallerAuth } from './caller.ts';
import { installJsonParser, type JsonLimits } from './json-limits.ts';
import { Lifecycle } from './lifecycle.ts';
import { apiOriginPolicy, originRefusal, type OriginPolicy } from './origin-guard.ts';
import { installRateLimit, type RateLimitOptions } from './rate-limit.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { policyRoutes } from './routes/policy.ts';
import { probeRoutes } from './routes/probes.ts';
import { installErrorHandler } from './error-handler.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { auditRoutes } from './routes/audit.ts';
import { decideRoutes } from './routes/decide.ts';
import { devRoutes } from './routes/dev.ts';
import { healthRoutes } from './routes/health.ts';
import { livenessRoutes } from './routes/liveness.ts';
import { revocationRoutes } from './routes/revocations.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { mintedStateRoutes } from './routes/minted-state.ts';
import { upstreamIdentityRoutes } from './routes/upstream-identity.ts';

export interface AppOptions {
  core: CoreDeps;
  auth: CallerAuth;
  reloader: PolicyReloader;
  bodyLimit: number;
  /** A pino logger options object, or false. */
  logger?: boolean | Record<string, unknown>;
  /** Present only in dev mode. */
  devIssuer?: DevIssuer | undefined;
  /** Shape limits of JSON bodies; 32 levels and 10 000 keys when absent. */
  jsonLimits?: JsonLimits | undefined;
  /** Longest time from a request's arrival to its answer; none when absent. */
  requestTimeoutMs?: number | undefined;
  /** Requests per caller per window; none when absent. */
  rateLimit?: RateLimitOptions | undefined;
  /** Served at `/metrics` when present. */
  metrics?: ServiceMetrics | undefined;
  /** The shutdown phase `/readyz` and the request gate read. */
  lifecycle?: Lifecycle | undefined;
  /** Host and Origin checks against DNS rebinding; when absent, loopback hosts and no browser origin. */
  origins?: OriginPolicy | undefined;
  /** The approval page (config `approvals.sign_in`), served at its URL's path; none when absent. */
  approvalPage?: ApprovalPageOptions | undefined;
  /** The incident-review console (config `console`), served at its URL's path; none when absent. */
  console?: ConsoleOptions | undefined;
}

/** Routes that answer whatever the phase: an orchestrator must see a draining replica as such. */
const PROBES = new Set(['/livez', '/readyz', '/health']);

/** Builds the HTTP app without listening, so tests can `inject()`. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const timeout = options.requestTimeoutMs ?? 0;
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    logger: options.logger ?? false,
    // Request logs carry no body (tokens live there).
    logController: new LogController({ disableRequestLogging: true }),
    // Refused by the gate below instead, with the error envelope, and probes still answer.
    return503OnClosing: false,
    // The whole route lifecycle (503 `request_timeout`), and receiving the request (Node's 408).
    handlerTimeout: timeout,
    requestTimeout: timeout,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: a text body would otherwise reach validation as a string.
  app.removeContentTypeParser('text/plain');
  installJsonParser(app, options.jsonLimits ?? { maxDepth: 32, maxKeys: 10_000 });
  installErrorHandler(app, options.bodyLimit);
  const origins = options.origins ?? apiOriginPolicy({ loopback: true, allowedHosts: [], allowedOrigins: [] });
  const page = options.approvalPage && pageMount(options.approvalPage.pageUrl);
  // The approval page's form posts carry its own origin: allowed on its routes, not on the API's.
  const pageOrigins = page && withPageOrigin(origins, page);
  const consoleAt = options.console && consoleMount(options.console.url);
  const consoleOrigins = consoleAt && withPageOrigin(origins, consoleAt);
  // DNS rebinding: a page rebound to this port must reach no route, probes and 404s included.
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    const policy =
      page && pageOrigins && isPageRoute(route, page)
        ? pageOrigins
        : consoleAt && consoleOrigins && isConsoleRoute(route, consoleAt)
          ? consoleOrigins
          : origins;
    const refusal = originRefusal(policy, request.headers.origin, request.headers.host);
    if (refusal === null) return;
    const setting = refusal.header === 'host' ? 'server.allowed_hosts' : 'server.allowed_origins';
    const message = `${refusal.message} (${setting})`;
    throw refusal.header === 'host' ? new HostNotAllowed(message) : new OriginNotAllowed(message);
  });
  app.addHook('preClose', async () => lifecycle.close());
  app.addHook('onRequest', async (request) => {
    if (lifecycle.phase === 'closing' && !PROBES.has(request.routeOptions.url ?? '')) {
      throw new ShuttingDown('the service is shutting down; retry on another replica');
    }
  });
  // A keep-alive connection would outlive its last answer and hold the close up to the grace.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.phase === 'closing') void reply.header('connection', 'close');
    done(null, payload);
  });
  if (options.rateLimit) await installRateLimit(app, options.auth, options.rateLimit);
  await app.register(swagger, {
    openapi: {
      info: { title: 'mcp-warden', version: '1', description: 'Authorization decisions for MCP requests and sessions' },
    },
    transform: jsonSchemaTransform,
  });
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger());
  const core = options.core;
  const auth = options.auth;
  await app.register(decideRoutes, { core, auth });
  await app.register(sessionRoutes, { core, auth });
  await app.register(mintedStateRoutes, { core, auth });
  await app.register(revocationRoutes, { core, auth });
  await app.register(approvalRoutes, { core, auth });
  await app.register(livenessRoutes, { core, auth });
  await app.register(upstreamIdentityRoutes, { core });
  await app.register(healthRoutes, { core, reloader: options.reloader });
  await app.register(probeRoutes, { core, reloader: options.reloader, lifecycle });
  if (options.metrics) await app.register(metricsRoutes, { metrics: options.metrics, auth });
  await app.register(policyRoutes, { reloader: options.reloader, auth });
  await app.register(auditRoutes, { sink: core.audit, auth });
  if (options.devIssuer) await app.register(devRoutes, { issuer: options.devIssuer });
  if (options.approvalPage && page) {
    await app.register(approvalPageRoutes, {
      core,
      page: options.approvalPage,
      bodyLimit: options.bodyLimit,
      prefix: page.path,
    });
  }
  if (options.console && consoleAt) {
    await app.register(consoleRoutes, {
      core,
      reloader: options.reloader,
      auth,
      options: options.console,
      bodyLimit: options.bodyLimit,
      prefix: consoleAt.path,
    });
  }
  return app;
}
