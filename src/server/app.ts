import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { CoreDeps } from '../decision/deps.ts';
import type { DevIssuer } from '../identity/dev-issuer.ts';
import type { PolicyReloader } from '../policy/reloader.ts';
import type { CallerAuth } from './caller.ts';
import { policyRoutes } from './routes/policy.ts';
import { installErrorHandler } from './error-handler.ts';
import { auditRoutes } from './routes/audit.ts';
import { decideRoutes } from './routes/decide.ts';
import { devRoutes } from './routes/dev.ts';
import { healthRoutes } from './routes/health.ts';
import { sessionRoutes } from './routes/sessions.ts';

export interface AppOptions {
  core: CoreDeps;
  auth: CallerAuth;
  reloader: PolicyReloader;
  bodyLimit: number;
  /** A pino logger options object, or false. */
  logger?: boolean | Record<string, unknown>;
  /** Present only in dev mode. */
  devIssuer?: DevIssuer | undefined;
}

/** Builds the HTTP app without listening, so tests can `inject()`. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    logger: options.logger ?? false,
    // Request logs carry no body (tokens live there).
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: a text body would otherwise reach validation as a string.
  app.removeContentTypeParser('text/plain');
  installErrorHandler(app, options.bodyLimit);
  await app.register(swagger, {
    openapi: {
      info: { title: 'mcp-warden', version: '1', description: 'Authorization decisions for MCP requests and sessions' },
    },
    transform: jsonSchemaTransform,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const core = options.core;
  const auth = options.auth;
  await app.register(decideRoutes, { core, auth });
  await app.register(sessionRoutes, { core, auth });
  await app.register(healthRoutes, { core, reloader: options.reloader });
  await app.register(policyRoutes, { reloader: options.reloader, auth });
  await app.register(auditRoutes, { sink: core.audit, auth });
  if (options.devIssuer) await app.register(devRoutes, { issuer: options.devIssuer });
  return app;
}
