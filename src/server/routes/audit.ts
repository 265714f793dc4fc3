import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { accessCsv, accessReport, accessWindow } from '../../audit/access.ts';
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

/** `GET /v1/audit/access` query: a tool on a server, a window (default: the last hour), JSON or CSV. */
export const accessQuerySchema = z.strictObject({
  server: z.string().min(1).max(2048),
  tool: z.string().min(1).max(256),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  format: z.enum(['json', 'csv']).default('json'),
});

const principalSchema = z.record(z.string(), z.unknown());
const accessReportSchema = z.object({
  query: z.object({ server: z.string(), tool: z.string(), since: z.string(), until: z.string() }),
  rows: z.array(
    z.object({
      principal: principalSchema,
      could: z.boolean(),
      did: z.number(),
      denied: z.number(),
      sessions: z.array(z.string()),
      first_at: z.string().nullable(),
      last_at: z.string().nullable(),
    }),
  ),
  scanned: z.number(),
  truncated: z.boolean(),
});

/** An RFC 3339 time as the UTC ISO form the records' `ts` has (they are compared as strings). */
const utc = (value: string | undefined) => (value === undefined ? undefined : new Date(value).toISOString());

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

  app.get(
    '/v1/audit/access',
    {
      schema: {
        summary: 'Who could call a tool on a server in a window, and who did (admin); JSON or CSV',
        querystring: accessQuerySchema,
        response: { 200: accessReportSchema.or(z.string()), 400: errorSchema, 401: errorSchema, 403: errorSchema },
      },
    },
    async (request, reply) => {
      auth.authorize(request, ['admin']);
      const { server, tool, format } = request.query;
      const window = accessWindow(utc(request.query.since), utc(request.query.until), Date.now());
      const report = await accessReport(sink, { server, tool, ...window });
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(accessCsv(report));
      return {
        ...report,
        rows: report.rows.map((r) => ({ ...r, principal: { ...r.principal }, sessions: [...r.sessions] })),
      };
    },
  );
};
