import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CoreDeps } from '../../decision/deps.ts';
import { approvalView, decideApproval, getApproval, listApprovals, revokeApproval } from '../../decision/approvals.ts';
import type { CallerAuth } from '../caller.ts';
import {
  approvalDecisionBodySchema,
  approvalListQuerySchema,
  approvalParamsSchema,
  approvalRevokeBodySchema,
  approvalViewSchema,
  errorSchema,
} from '../../wire/schemas.ts';

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 503: errorSchema };

/**
 * Approval requests of parked calls (admin): list, read, decide with the approver's own
 * token (the caller's key alone decides nothing), revoke. docs/approvals.md.
 */
export const approvalRoutes: FastifyPluginAsyncZod<{ core: CoreDeps; auth: CallerAuth }> = async (
  app,
  { core, auth },
) => {
  app.get(
    '/v1/approvals',
    {
      schema: {
        summary: 'List approval requests by state at now, newest first (admin)',
        querystring: approvalListQuerySchema,
        response: { 200: z.object({ approvals: z.array(approvalViewSchema) }), ...errors },
      },
    },
    async (request) => {
      auth.authorize(request, ['admin']);
      const found = await listApprovals(core, request.query);
      return { approvals: found.map((record) => approvalView(core, record)) };
    },
  );

  app.get(
    '/v1/approvals/:id',
    {
      schema: {
        summary: 'Read one approval request (admin)',
        params: approvalParamsSchema,
        response: { 200: approvalViewSchema, ...errors },
      },
    },
    async (request) => {
      auth.authorize(request, ['admin']);
      return approvalView(core, await getApproval(core, request.params.id));
    },
  );

  app.post(
    '/v1/approvals/:id/decision',
    {
      schema: {
        summary: "Grant or deny a pending request with the approver's own token (admin caller)",
        params: approvalParamsSchema,
        body: approvalDecisionBodySchema,
        response: { 200: approvalViewSchema, ...errors, 409: errorSchema },
      },
    },
    async (request) => {
      const caller = auth.authorize(request, ['admin']);
      const decided = await decideApproval(core, { id: request.params.id, ...request.body }, caller);
      return approvalView(core, decided);
    },
  );

  app.delete(
    '/v1/approvals/:id',
    {
      schema: {
        summary: 'Revoke a pending request or an unused grant (admin)',
        params: approvalParamsSchema,
        body: approvalRevokeBodySchema,
        response: { 200: approvalViewSchema, ...errors, 409: errorSchema },
      },
    },
    async (request) => {
      const caller = auth.authorize(request, ['admin']);
      return approvalView(core, await revokeApproval(core, request.params.id, caller, request.body?.note));
    },
  );
};
