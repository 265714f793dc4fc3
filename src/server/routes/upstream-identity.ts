import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { UPSTREAM_IDENTITY_JWKS_PATH, upstreamIdentityJwks } from '../../decision/upstream-identity.ts';
import type { CoreDeps } from '../../decision/deps.ts';

/**
 * `GET /v1/upstream-identity/jwks`: the public keys upstreams verify identity assertions
 * with. Public, like any JWKS: it holds no secret. Empty when no assertion is configured.
 */
export const upstreamIdentityRoutes: FastifyPluginAsyncZod<{ core: CoreDeps }> = async (app, { core }) => {
  app.get(
    UPSTREAM_IDENTITY_JWKS_PATH,
    {
      schema: {
        summary: 'Keys of the identity assertions signed for upstreams',
        response: { 200: z.object({ keys: z.array(z.looseObject({ kty: z.string().optional() })) }) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return upstreamIdentityJwks(core.upstreamIdentity);
    },
  );
};
