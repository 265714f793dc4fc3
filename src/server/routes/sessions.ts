import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CoreDeps } from '../../decision/deps.ts';
import { createSession, revokeSession } from '../../decision/sessions.ts';
import { callerOf } from '../caller.ts';
import {
  createSessionBodySchema,
  errorSchema,
  revokeBodySchema,
  sessionIdParamsSchema,
  sessionViewSchema,
} from '../schemas.ts';

/** Session lifecycle: create and revoke. */
export const sessionRoutes: FastifyPluginAsyncZod<{ core: CoreDeps }> = async (app, { core }) => {
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
      const view = await createSession(core, request.body, callerOf(request));
      return reply.code(201).send(view);
    },
  );

  app.delete(
    '/v1/sessions/:id',
    {
      schema: {
        summary: 'Revoke a session',
        params: sessionIdParamsSchema,
        body: revokeBodySchema,
        response: { 200: sessionViewSchema, 403: errorSchema, 404: errorSchema, 503: errorSchema },
      },
    },
    async (request) => revokeSession(core, { id: request.params.id, token: request.body?.token }, callerOf(request)),
  );
};
