import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CoreDeps } from '../../decision/deps.ts';
import type { PolicyReloader } from '../../policy/reloader.ts';

const componentSchema = z.object({
  status: z.enum(['OK', 'NOT_READY', 'ERROR', 'WARN']),
  detail: z.string().optional(),
});

/** `GET /health`: a status per component (OK / NOT_READY / ERROR / WARN); 503 unless everything can decide. */
export const healthRoutes: FastifyPluginAsyncZod<{ core: CoreDeps; reloader: PolicyReloader }> = async (
  app,
  { core, reloader },
) => {
  app.get(
    '/health',
    {
      config: { rateLimit: false },
      schema: {
        summary: 'Component health',
        response: {
          200: z.object({ status: z.string(), components: z.record(z.string(), componentSchema) }),
          503: z.object({ status: z.string(), components: z.record(z.string(), componentSchema) }),
        },
      },
    },
    async (_request, reply) => {
      const policy = reloader.status();
      const components = {
        policy: {
          status: policy.status,
          detail: policy.last_error
            ? `revision ${policy.revision}; last reload failed: ${policy.last_error.message}`
            : `revision ${policy.revision}`,
        },
        sessions: { status: core.sessions.status() },
        audit: { status: core.audit.status() },
      };
      // WARN (a rejected reload, the last good policy still active) still decides: 200.
      const statuses = Object.values(components).map((c) => c.status);
      const serving = statuses.every((s) => s === 'OK' || s === 'WARN');
      const status = !serving ? 'ERROR' : statuses.includes('WARN') ? 'WARN' : 'OK';
      return reply.code(serving ? 200 : 503).send({ status, components });
    },
  );
};
