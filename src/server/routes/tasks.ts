import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CoreDeps } from '../../decision/deps.ts';
import { bindTask } from '../../decision/tasks.ts';
import { bindTaskBodySchema, boundTaskViewSchema, errorSchema } from '../../wire/schemas.ts';
import type { CallerAuth } from '../caller.ts';
import { forServers } from '../server-binding.ts';

/** Binding the tasks an upstream creates to the principal whose request created them (docs/sessions.md). */
export const taskRoutes: FastifyPluginAsyncZod<{ core: CoreDeps; auth: CallerAuth }> = async (app, { core, auth }) => {
  app.post(
    '/v1/tasks',
    {
      schema: {
        summary: 'Bind a task the upstream created to the verified principal and its session',
        body: bindTaskBodySchema,
        response: {
          201: boundTaskViewSchema,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
          410: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const caller = forServers(auth.authorize(request, ['pep']), [request.body.server]);
      return reply.code(201).send(await bindTask(core, request.body, caller));
    },
  );
};
