import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServiceMetrics } from '../../metrics/service-metrics.ts';
import type { CallerAuth } from '../caller.ts';

/**
 * `GET /metrics`, the Prometheus text exposition. Open without API keys (the service is
 * then on loopback only, like `/health`); with keys, for the `metrics` role (a scrape
 * credential that can do nothing else) and `admin`.
 */
export const metricsRoutes: FastifyPluginAsyncZod<{ metrics: ServiceMetrics; auth: CallerAuth }> = async (
  app,
  { metrics, auth },
) => {
  app.get(
    '/metrics',
    {
      config: { rateLimit: false },
      // No response schema: the 200 body is text, and errors take the one envelope anyway.
      schema: {
        summary: 'Prometheus metrics (text exposition); the metrics or admin role when API keys are configured',
      },
    },
    async (request, reply) => {
      auth.authorize(request, ['metrics', 'admin']);
      return reply.type(metrics.contentType).send(await metrics.exposition());
    },
  );
};
