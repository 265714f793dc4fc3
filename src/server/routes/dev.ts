import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DevModeRequired } from '../../errors.ts';
import type { DevIssuer } from '../../identity/dev-issuer.ts';
import { isLoopback } from '../loopback.ts';
import { errorSchema } from '../../wire/schemas.ts';

const devTokenBodySchema = z.strictObject({
  sub: z.string().min(1).max(256),
  server: z.string().min(1).max(2048),
  roles: z.array(z.string().min(1).max(64)).max(32).optional(),
  scope: z.string().max(1024).optional(),
  client_id: z.string().min(1).max(256).optional(),
  ttl_seconds: z.number().int().min(1).max(86_400).optional(),
});

/** `POST /v1/dev/token`: mints a dev token; registered only in dev mode, answered only on loopback. */
export const devRoutes: FastifyPluginAsyncZod<{ issuer: DevIssuer }> = async (app, { issuer }) => {
  app.post(
    '/v1/dev/token',
    {
      schema: {
        summary: 'Mint a token from the local dev issuer (dev mode on loopback only)',
        body: devTokenBodySchema,
        response: { 200: z.object({ token: z.string() }), 403: errorSchema },
      },
    },
    async (request) => {
      if (!isLoopback(request.socket.remoteAddress)) {
        throw new DevModeRequired('dev tokens are minted for loopback clients only');
      }
      const { server, ...claims } = request.body;
      return { token: await issuer.mint({ ...claims, audience: server }) };
    },
  );
};
