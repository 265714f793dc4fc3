import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CoreDeps } from '../../decision/deps.ts';
import { listRevocations, revokePrincipal } from '../../decision/revocations.ts';
import type { CallerAuth } from '../caller.ts';
import {
  errorSchema,
  revocationAnswerSchema,
  revocationBodySchema,
  revocationListQuerySchema,
  revocationViewSchema,
} from '../../wire/schemas.ts';

/** Principal revocations (admin): record one, list those in force. */
export const revocationRoutes: FastifyPluginAsyncZod<{ core: CoreDeps; auth: CallerAuth }> = async (
  app,
  { core, auth },
) => {
  app.post(
    '/v1/revocations',
    {
      schema: {
        summary: 'Revoke a principal (subject, client, token or jti) in every era, and its live sessions (admin)',
        body: revocationBodySchema,
        response: {
          201: revocationAnswerSchema,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const answer = await revokePrincipal(core, request.body, auth.authorize(request, ['admin']));
      return reply.code(201).send(answer);
    },
  );

  app.get(
    '/v1/revocations',
    {
      schema: {
        summary: 'List the principal revocations in force, oldest first (admin)',
        querystring: revocationListQuerySchema,
        response: {
          200: z.object({ revocations: z.array(revocationViewSchema) }),
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      auth.authorize(request, ['admin']);
      return { revocations: await listRevocations(core, request.query.limit) };
    },
  );
};
