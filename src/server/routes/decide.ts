import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { decide } from '../../decision/decide.ts';
import type { CoreDeps } from '../../decision/deps.ts';
import { callerOf } from '../caller.ts';
import { decideBodySchema, decisionSchema, errorSchema } from '../schemas.ts';

/** `POST /v1/decide`: a deny is a 200 with `allow: false`. */
export const decideRoutes: FastifyPluginAsyncZod<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/v1/decide',
    {
      schema: {
        summary: 'Decide one MCP request',
        body: decideBodySchema,
        response: { 200: decisionSchema, 400: errorSchema, 413: errorSchema },
      },
    },
    async (request) => decide(core, request.body, callerOf(request)),
  );
};
