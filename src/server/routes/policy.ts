import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PolicyReloader } from '../../policy/reloader.ts';
import type { CallerAuth } from '../caller.ts';
import { errorSchema } from '../../wire/schemas.ts';

const statusSchema = z.object({
  status: z.enum(['OK', 'WARN', 'NOT_READY']),
  revision: z.string().nullable(),
  signer: z.string().nullable(),
  last_activation: z.object({ revision: z.string(), at: z.string() }).nullable(),
  last_error: z.object({ message: z.string(), at: z.string() }).nullable(),
});

/** The policy lifecycle: its status, and a reload for environments without file events. */
export const policyRoutes: FastifyPluginAsyncZod<{ reloader: PolicyReloader; auth: CallerAuth }> = async (
  app,
  { reloader, auth },
) => {
  app.get(
    '/v1/status',
    {
      schema: {
        summary: 'The active policy revision, its last activation and the last error',
        response: { 200: statusSchema, 401: errorSchema, 403: errorSchema },
      },
    },
    async (request) => {
      auth.authorize(request, ['pep', 'admin']);
      return reloader.status();
    },
  );

  app.post(
    '/v1/admin/reload',
    {
      schema: {
        summary: 'Reload the policy bundle now (admin); a bad bundle keeps the last good one',
        querystring: z.strictObject({
          /** This reload only: accept a revision that is not newer than the active one. */
          allow_rollback: z.enum(['true', 'false']).optional(),
        }),
        response: { 200: statusSchema, 401: errorSchema, 403: errorSchema, 422: errorSchema },
      },
    },
    async (request) => {
      auth.authorize(request, ['admin']);
      await reloader.reload({ allowRollback: request.query.allow_rollback === 'true' });
      return reloader.status();
    },
  );
};
