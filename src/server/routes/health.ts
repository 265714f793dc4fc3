import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CoreDeps } from '../../decision/deps.ts';

const componentSchema = z.object({ status: z.enum(['OK', 'NOT_READY', 'ERROR', 'WARN']), detail: z.string().optional() });

/** `GET /health`: a status per component; 503 unless everything can decide. */
export const healthRoutes: FastifyPluginAsyncZod<{ core: CoreDeps }> = async (app, { core }) => {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Component health',
        response: {
          200: z.object({ status: z.string(), components: z.record(z.string(), componentSchema) }),
          503: z.object({ status: z.string(), components: z.record(z.string(), componentSchema) }),
        },
      },
    },
    async (_request, reply) => {
      const revision = core.policy.revision;
      const components = {
        policy: revision === null ? { status: 'NOT_READY' as const } : { status: 'OK' as const, detail: `revision ${revision}` },
        sessions: { status: core.sessions.status() },
        audit: { status: core.audit.status() },
      };
      const ok = Object.values(components).every((c) => c.status === 'OK');
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'OK' : 'ERROR', components });
    },
  );
};
