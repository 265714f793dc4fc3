import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AUDIT_KINDS, type AuditSink } from '../../audit/record.ts';
import { hashSessionId, kindOfId } from '../../session/ids.ts';
import type { CallerAuth } from '../caller.ts';
import { errorSchema } from '../../wire/schemas.ts';

/** `GET /v1/audit` query: every filter optional; `session` takes an id or its sha256. */
export const auditQuerySchema = z.strictObject({
  session: z.string().min(1).max(256).optional(),
  subject: z.string().min(1).max(1024).optional(),
  client_id: z.string().min(1).max(1024).optional(),
  tool: z.string().min(1).max(256).optional(),
  server: z.string().min(1).max(2048).optional(),
  kind: z.enum(AUDIT_KINDS).optional(),
  allow: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  since: z.iso.datetime().optional(),
  until: z.iso.datetime().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).max(512).optional(),
});

/** The audit trail, for incident review (admin). */
export const auditRoutes: FastifyPluginAsyncZod<{ sink: AuditSink; auth: CallerAuth }> = async (
  app,
  { sink, auth },
) => {
  app.get(
    '/v1/audit',
    {
      schema: {
        summary: 'Query the audit trail (admin), oldest first, paginated',
        querystring: auditQuerySchema,
        response: {
          200: z.object({ records: z.array(z.record(z.string(), z.unknown())), next: z.string().nullable() }),
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
        },
      },
    },
    async (request) => {
      auth.authorize(request, ['admin']);
      const { session, ...rest } = request.query;
      const sessionHash = session !== undefined && kindOfId(session) !== null ? hashSessionId(session) : session;
      const page = await sink.query({ ...rest, session: sessionHash });
      return { records: page.records.map((r) => ({ ...r })), next: page.next };
    },
  );
};
