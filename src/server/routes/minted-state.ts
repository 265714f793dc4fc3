import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CoreDeps } from '../../decision/deps.ts';
import { sealForPrincipal } from '../../decision/request-state.ts';
import { bindState } from '../../decision/bound-state.ts';
import {
  bindStateBodySchema,
  boundStateViewSchema,
  errorSchema,
  sealedRequestStateSchema,
  sealRequestStateBodySchema,
} from '../../wire/schemas.ts';
import type { CallerAuth } from '../caller.ts';
import { forServers } from '../server-binding.ts';

/**
 * Binding the state an upstream mints to the principal whose request it answers
 * (docs/sessions.md): the tasks it creates, the `requestState` of multi-round-trip requests.
 */
export const mintedStateRoutes: FastifyPluginAsyncZod<{ core: CoreDeps; auth: CallerAuth }> = async (
  app,
  { core, auth },
) => {
  app.post(
    '/v1/bound-state',
    {
      schema: {
        summary: 'Bind state the upstream minted (a task, a handle) to the verified principal and its session',
        body: bindStateBodySchema,
        response: {
          201: boundStateViewSchema,
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
      return reply.code(201).send(await bindState(core, request.body, caller));
    },
  );

  app.post(
    '/v1/request-states',
    {
      schema: {
        summary: "Seal an upstream's requestState (MCP 2026-07-28) to the verified principal",
        body: sealRequestStateBodySchema,
        response: {
          201: sealedRequestStateSchema,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const caller = forServers(auth.authorize(request, ['pep']), [request.body.server]);
      return reply.code(201).send(await sealForPrincipal(core, request.body, caller));
    },
  );
};
