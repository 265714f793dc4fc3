import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CoreDeps } from '../../decision/deps.ts';
import { revokeSessionsOfPrincipal } from '../../decision/revocations.ts';
import { createSession, listSessions, readSession, revokeSession, widenSession } from '../../decision/sessions.ts';
import type { CallerAuth } from '../caller.ts';
import { forServers, forSessionServer } from '../server-binding.ts';
import {
  bulkRevokeBodySchema,
  createSessionBodySchema,
  errorSchema,
  listQuerySchema,
  widenBodySchema,
  revokeBodySchema,
  revocationViewSchema,
  sessionIdParamsSchema,
  sessionViewSchema,
} from '../../wire/schemas.ts';

/** Session lifecycle: create, widen, read and list (admin), revoke one or in bulk (admin). */
export const sessionRoutes: FastifyPluginAsyncZod<{ core: CoreDeps; auth: CallerAuth }> = async (
  app,
  { core, auth },
) => {
  app.post(
    '/v1/sessions',
    {
      schema: {
        summary: 'Create a session or state handle for the verified principal',
        body: createSessionBodySchema,
        response: { 201: sessionViewSchema, 400: errorSchema, 401: errorSchema, 403: errorSchema, 503: errorSchema },
      },
    },
    async (request, reply) => {
      const caller = forServers(auth.authorize(request, ['pep']), [request.body.server]);
      const view = await createSession(core, request.body, caller);
      return reply.code(201).send(view);
    },
  );

  app.post(
    '/v1/sessions/:id/scope',
    {
      schema: {
        summary: 'Widen the scope of a session: a fresh authorization by mcp/session/grant',
        params: sessionIdParamsSchema,
        body: widenBodySchema,
        response: {
          200: sessionViewSchema,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
          410: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const caller = await forSessionServer(core, auth.authorize(request, ['pep', 'admin']), id);
      const { token, agent_token, add } = request.body;
      return widenSession(core, { id, token, agent_token, add }, caller);
    },
  );

  app.post(
    '/v1/sessions/revoke',
    {
      schema: {
        summary: 'Revoke every live session of a subject, client or server, and that subject or client (admin)',
        body: bulkRevokeBodySchema,
        response: {
          200: z.object({
            revoked: z.number(),
            sessions: z.array(sessionViewSchema),
            rule: revocationViewSchema.nullable(),
          }),
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const caller = auth.authorize(request, ['admin']);
      const { subject, client_id, server } = request.body;
      const { sessions, rule } = await revokeSessionsOfPrincipal(core, { sub: subject, client_id, server }, caller);
      return { revoked: sessions.length, sessions, rule };
    },
  );

  app.get(
    '/v1/sessions',
    {
      schema: {
        summary: 'List sessions by subject, client or server (admin)',
        querystring: listQuerySchema,
        response: {
          200: z.object({ sessions: z.array(sessionViewSchema) }),
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
        },
      },
    },
    async (request) => {
      auth.authorize(request, ['admin']);
      const { subject, client_id, server, limit } = request.query;
      return { sessions: await listSessions(core, { sub: subject, client_id, server }, limit) };
    },
  );

  app.get(
    '/v1/sessions/:id',
    {
      schema: {
        summary: 'Read a session by its id or its id hash (admin)',
        params: sessionIdParamsSchema,
        response: { 200: sessionViewSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      auth.authorize(request, ['admin']);
      return readSession(core, request.params.id);
    },
  );

  app.delete(
    '/v1/sessions/:id',
    {
      schema: {
        summary: 'Revoke a session',
        params: sessionIdParamsSchema,
        body: revokeBodySchema,
        response: { 200: sessionViewSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 503: errorSchema },
      },
    },
    async (request) => {
      const { id } = request.params;
      const caller = await forSessionServer(core, auth.authorize(request, ['pep', 'admin']), id);
      return revokeSession(core, { id, token: request.body?.token, agent_token: request.body?.agent_token }, caller);
    },
  );
};
