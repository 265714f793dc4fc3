import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { decide } from '../../decision/decide.ts';
import type { CoreDeps } from '../../decision/deps.ts';
import type { CallerAuth } from '../caller.ts';
import { forServers } from '../server-binding.ts';
import { decideBodySchema, decisionSchema, errorSchema } from '../../wire/schemas.ts';

/** `POST /v1/decide`: a deny is a 200 with `allow: false`. */
export const decideRoutes: FastifyPluginAsyncZod<{ core: CoreDeps; auth: CallerAuth }> = async (
  app,
  { core, auth },
) => {
  app.post(
    '/v1/decide',
    {
      schema: {
        summary: 'Decide one MCP request',
        body: decideBodySchema,
        response: { 200: decisionSchema, 400: errorSchema, 401: errorSchema, 403: errorSchema, 413: errorSchema },
      },
    },
    async (request) => decide(core, request.body, forServers(auth.authorize(request, ['pep']), [request.body.server])),
  );
};
