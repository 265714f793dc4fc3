import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CoreDeps } from '../../decision/deps.ts';
import type { PolicyReloader } from '../../policy/reloader.ts';
import type { Lifecycle } from '../lifecycle.ts';

const readySchema = z.object({
  status: z.enum(['READY', 'NOT_READY', 'DRAINING']),
  /** What is not ready, when something is not. */
  waiting_for: z.array(z.enum(['policy', 'sessions', 'audit', 'shutdown'])),
});

/**
 * Probes for orchestrators. `/livez`: the process answers (it never checks a dependency,
 * so a Redis outage does not get every replica restarted). `/readyz`: this replica can
 * decide now: a policy is loaded, the session store and the audit sink answer, and it is
 * not shutting down.
 */
export const probeRoutes: FastifyPluginAsyncZod<{
  core: CoreDeps;
  reloader: PolicyReloader;
  lifecycle: Lifecycle;
}> = async (app, { core, reloader, lifecycle }) => {
  app.get(
    '/livez',
    {
      config: { rateLimit: false },
      schema: { summary: 'Liveness: the process is up', response: { 200: z.object({ status: z.literal('OK') }) } },
    },
    async () => ({ status: 'OK' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { rateLimit: false },
      schema: {
        summary: 'Readiness: policy loaded, session store and audit sink OK, not shutting down',
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const waiting: z.infer<typeof readySchema>['waiting_for'] = [];
      if (reloader.status().status === 'NOT_READY') waiting.push('policy');
      if (core.sessions.status() !== 'OK') waiting.push('sessions');
      if (core.audit.status() !== 'OK') waiting.push('audit');
      if (lifecycle.phase !== 'serving') waiting.push('shutdown');
      const status = lifecycle.phase !== 'serving' ? 'DRAINING' : waiting.length > 0 ? 'NOT_READY' : 'READY';
      return reply.code(waiting.length > 0 ? 503 : 200).send({ status, waiting_for: waiting });
    },
  );
};
