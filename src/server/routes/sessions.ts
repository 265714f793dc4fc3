import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CoreDeps } from '../../decision/deps.ts';
import { createSession, readSession, revokeSession } from '../../decision/sessions.ts';
import type { CallerAuth } from '../caller.ts';
import {
  createSessionBodySchema,
  errorSchema,
  revokeBodySchema,
  sessionIdParamsSchema,
  sessionViewSchema,
} from '../schemas.ts';

/** Session lifecycle: create, read (admin), revoke. */
export const sessionRoutes: FastifyPluginAsyncZod<{ core: CoreDeps; auth: CallerAuth }> = async (app, { core, auth }) => {
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
      const view = await createSession(core, request.body, auth.authorize(request, ['pep']));
      return reply.code(201).send(view);
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
    async (request) =>
      revokeSession(core, { id: request.params.id, token: request.body?.token }, auth.authorize(request, ['pep', 'admin'])),
  );
};
