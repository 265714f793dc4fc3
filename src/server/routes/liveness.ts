import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CoreDeps } from '../../decision/deps.ts';
import { checkLiveness } from '../../decision/liveness.ts';
import type { CallerAuth } from '../caller.ts';
import { forServers } from '../server-binding.ts';
import { errorSchema, livenessAnswerSchema, livenessBodySchema } from '../../wire/schemas.ts';

/**
 * A batch of up to 1000 items with tokens near `identity.max_token_bytes` does not fit the
 * default body limit; this route alone takes up to 4 MiB.
 */
const LIVENESS_BODY_LIMIT = 4 << 20;

/** `POST /v1/liveness`: whether open streams' authority still holds; decides and records nothing. */
export const livenessRoutes: FastifyPluginAsyncZod<{ core: CoreDeps; auth: CallerAuth }> = async (
  app,
  { core, auth },
) => {
  app.post(
    '/v1/liveness',
    {
      bodyLimit: LIVENESS_BODY_LIMIT,
      schema: {
        summary: 'Check the token, principal and session behind open streams (no policy, no audit record)',
        body: livenessBodySchema,
        response: { 200: livenessAnswerSchema, 400: errorSchema, 401: errorSchema, 403: errorSchema, 413: errorSchema },
      },
    },
    async (request) => {
      const { items } = request.body;
      const caller = forServers(
        auth.authorize(request, ['pep', 'admin']),
        items.map((item) => item.server),
      );
      const results = await checkLiveness(core, items, caller);
      const live = { live: true as const };
      return { results: results.map((reason) => (reason === null ? live : { live: false as const, reason })) };
    },
  );
};
