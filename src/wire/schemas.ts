/**
 * The decision API's wire contract: the zod schemas of its bodies and answers, shared by
 * the service (src/server/ validates with them) and the enforcement points (src/pep/
 * believes only an answer that validates). Neither imports the other.
 */
import { z } from 'zod';

/** Largest JSON encoding of a session or decision `context`, in bytes. */
export const CONTEXT_MAX_BYTES = 2048;

const contextSchema = z
  .record(z.string(), z.unknown())
  .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= CONTEXT_MAX_BYTES, {
    message: `must encode to at most ${CONTEXT_MAX_BYTES} bytes of JSON`,
  });

// The body bound only: `identity.max_token_bytes` (up to 64 KiB) is the limit, answered `token_too_large`.
const tokenSchema = z.string().min(1).max(65_536).describe('the bearer access token the MCP client presented');
const agentTokenSchema = z
  .string()
  .min(1)
  .max(65_536)
  .describe("the presenting agent's JWT-SVID (audience: the server), joined to the actor chain");
const serverSchema = z.string().min(1).max(2048).describe('the MCP server id: its canonical resource URI');
const toolNameSchema = z.string().min(1).max(256);

/**
 * The MCP request. Its `params` follow the MCP schema, which is open (`_meta`, cursors),
 * so only `params` admits fields beyond the ones named here.
 */
export const mcpRequestSchema = z.strictObject({
  method: z.string().min(1).max(128),
  params: z
    .looseObject({
      name: z.string().min(1).max(1024).optional(),
      arguments: z.record(z.string(), z.unknown()).optional(),
      uri: z.string().min(1).max(4096).optional(),
    })
    .optional(),
  protocol_version: z.string().min(1).max(64).optional(),
  client: z
    .strictObject({
      name: z.string().max(256).optional(),
      version: z.string().max(256).optional(),
      capabilities: z.array(z.string().min(1).max(64)).max(32).optional().describe('the capability names declared'),
    })
    .optional()
    .describe('how the client describes itself (clientInfo, capabilities): self-asserted, recorded, never identity'),
  candidates: z.array(z.string().max(4096)).max(10_000).optional(),
  handle_argument: z.string().min(1).max(256).optional().describe('the tool argument that carries a state handle'),
});

/** `POST /v1/decide` body. */
export const decideBodySchema = z.strictObject({
  token: tokenSchema.optional(),
  agent_token: agentTokenSchema.optional(),
  session: z.string().min(1).max(256).optional().describe('a session id or state handle'),
  server: serverSchema,
  mcp: mcpRequestSchema,
  context: contextSchema.optional(),
  upstream_identity: z
    .boolean()
    .optional()
    .describe("on an allow, sign an identity assertion of the principal for the server's upstream"),
});

const reasonSchema = z.object({ code: z.string(), message: z.string() });

/** `POST /v1/decide` 200 answer. */
export const decisionSchema = z.object({
  decision_id: z.string(),
  allow: z.boolean(),
  reasons: z.array(reasonSchema).readonly(),
  obligations: z.record(z.string(), z.unknown()),
  visible_tools: z.array(z.string()).readonly().nullable(),
  policy: z.object({ revision: z.string().nullable() }),
  required_scopes: z.array(z.string()).readonly().optional(),
  request_state: z.string().optional(),
  handle_result: z.union([z.strictObject({ field: z.string() }), z.strictObject({ pattern: z.string() })]).optional(),
  upstream_identity: z.string().optional(),
  approval: z
    .object({
      id: z.string(),
      url: z.string().nullable(),
      expires_at: z.string(),
      reason: z.string().nullable(),
    })
    .optional()
    .describe('on a deny approval_required: the approval request the call is parked under'),
});

/** `POST /v1/sessions` body. */
export const createSessionBodySchema = z.strictObject({
  token: tokenSchema.optional(),
  agent_token: agentTokenSchema.optional(),
  server: serverSchema,
  kind: z.enum(['mcp-session', 'state-handle']).optional(),
  tools: z.array(toolNameSchema).min(1).max(1000).optional(),
  context: contextSchema.optional(),
});

/** `POST /v1/bound-state` body: state the upstream minted (a task, a handle), to bind to the principal. */
export const bindStateBodySchema = z.strictObject({
  token: tokenSchema.optional(),
  agent_token: agentTokenSchema.optional(),
  session: z.string().min(1).max(256).optional().describe('the session the state was minted in (legacy era)'),
  server: serverSchema,
  kind: z.enum(['task', 'handle']).describe('a task the upstream created, or a handle a tool returned'),
  value: z.string().min(1).max(1024).describe("the upstream's value: the taskId, the handle"),
});

/** `POST /v1/bound-state` 201 answer. */
export const boundStateViewSchema = z.object({
  id_hash: z.string().describe('the bound-state hash, as audit records name it'),
  expires_at: z.string(),
});

/** `POST /v1/request-states` body: an upstream's MCP 2026-07-28 `requestState`, to seal to the principal. */
export const sealRequestStateBodySchema = z.strictObject({
  token: tokenSchema.optional(),
  agent_token: agentTokenSchema.optional(),
  server: serverSchema,
  request_state: z.string().min(1).max(65_536).describe("the upstream's requestState, as it returned it"),
});

/** `POST /v1/request-states` 201 answer. */
export const sealedRequestStateSchema = z.object({
  request_state: z.string().describe('the sealed value the client gets instead (mwr_…)'),
});

/** `DELETE /v1/sessions/{id}` body (optional). */
export const revokeBodySchema = z
  .strictObject({ token: tokenSchema.optional(), agent_token: agentTokenSchema.optional() })
  .nullish();

/** `POST /v1/sessions/{id}/scope` body. */
export const widenBodySchema = z.strictObject({
  token: tokenSchema.optional(),
  agent_token: agentTokenSchema.optional(),
  add: z.array(toolNameSchema).min(1).max(1000),
});

const filterFields = {
  subject: z.string().min(1).max(1024).optional(),
  client_id: z.string().min(1).max(1024).optional(),
  server: serverSchema.optional(),
};

/** `POST /v1/sessions/revoke` body: at least one filter. */
export const bulkRevokeBodySchema = z
  .strictObject(filterFields)
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'give subject, client_id or server' });

/** `GET /v1/sessions` query. */
export const listQuerySchema = z.strictObject({
  ...filterFields,
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const sessionIdParamsSchema = z.strictObject({ id: z.string().min(1).max(256) });

/** A session as the API shows it. */
export const sessionViewSchema = z.object({
  id: z.string().optional().describe('returned once, at creation; only its sha256 is kept'),
  id_hash: z.string(),
  kind: z.enum(['mcp-session', 'state-handle', 'task', 'upstream-handle']),
  owner: z.object({
    iss: z.string(),
    sub: z.string(),
    client_id: z.string().nullable(),
    spiffe_id: z.string().nullable(),
    actor: z
      .array(
        z.object({
          iss: z.string(),
          sub: z.string(),
          client_id: z.string().nullable(),
          spiffe_id: z.string().nullable(),
        }),
      )
      .readonly()
      .describe('the actor chain the state was created through, most recent actor first'),
  }),
  server: z.string(),
  scope: z.array(z.string()).readonly(),
  created_at: z.string(),
  expires_at: z.string(),
  idle_expires_at: z.string(),
  revoked_at: z.string().nullable(),
});

/** The one error envelope. */
export const errorSchema = z.object({
  code: z.string(),
  message: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  reasons: z.array(reasonSchema).readonly().optional(),
  /** With `session_not_granted`: the OAuth scopes that would grant it (step-up). */
  required_scopes: z.array(z.string()).readonly().optional(),
});

/**
 * `POST /v1/revocations` body. Which fields make one selector (exactly one: subject, with
 * an optional issuer and client_id; client_id; token_sha256; jti with its issuer) is
 * checked by the core, which names the field at fault.
 */
export const revocationBodySchema = z.strictObject({
  subject: z.string().min(1).max(1024).optional().describe('every token of this subject issued until now'),
  issuer: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .describe("the subject's or the jti's issuer; any issuer when omitted with subject"),
  client_id: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .describe('every token of this client issued until now; with subject, that subject through that client'),
  token_sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be the hex sha256 of the raw token')
    .optional()
    .describe('this token, whenever issued'),
  jti: z.string().min(1).max(1024).optional().describe('the token with this jti (give its issuer)'),
  note: z.string().min(1).max(1024).optional().describe('why, for the audit trail'),
});

/** A principal revocation as the API shows it. */
export const revocationViewSchema = z.object({
  selector: z.enum(['subject', 'client', 'token', 'jti']),
  issuer: z.string().nullable(),
  subject: z.string().nullable(),
  client_id: z.string().nullable(),
  token_sha256: z.string().nullable(),
  jti: z.string().nullable(),
  revoked_at: z.string(),
  expires_at: z.string().describe('when the rule may be swept: revoked_at plus session.revocation_retention_seconds'),
  revoked_by: z.string(),
  note: z.string().nullable(),
});

/** `POST /v1/revocations` 201 answer. */
export const revocationAnswerSchema = z.object({
  rule: revocationViewSchema,
  revoked: z.number().describe('live sessions the rule revoked'),
});

/** `GET /v1/revocations` query. */
export const revocationListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Most items of one `POST /v1/liveness`. */
export const LIVENESS_MAX_ITEMS = 1000;

/** `POST /v1/liveness` body: the authority of open streams, asked in one batch. */
export const livenessBodySchema = z.strictObject({
  items: z
    .array(
      z.strictObject({
        token: tokenSchema.optional(),
        agent_token: agentTokenSchema.optional(),
        session: z.string().min(1).max(256).optional().describe('a session id or state handle'),
        server: serverSchema,
      }),
    )
    .max(LIVENESS_MAX_ITEMS),
});

/** `POST /v1/liveness` 200 answer: one result per item, in order. */
export const livenessAnswerSchema = z.object({
  results: z.array(
    z.union([z.object({ live: z.literal(true) }), z.object({ live: z.literal(false), reason: reasonSchema })]),
  ),
});

const approvalActorSchema = z.object({
  iss: z.string().nullable(),
  sub: z.string().nullable(),
  client_id: z.string().nullable(),
  caller: z.string().describe('the API caller the decision or revocation came through'),
});

/** One approval request as the API shows it (docs/approvals.md). */
export const approvalViewSchema = z.object({
  id: z.string(),
  state: z.enum(['pending', 'granted', 'denied', 'consumed', 'expired', 'revoked']),
  url: z.string().nullable().describe("the request's approval page"),
  server: z.string(),
  tool: z.string(),
  arguments: z.unknown().describe('masked as in the audit trail'),
  arguments_sha256: z.string().describe('sha256 of the RFC 8785 canonical arguments'),
  binding: z.string().describe('sha256 of what the grant is bound to: owner, session, server, tool, arguments'),
  requester: z.object({
    iss: z.string(),
    sub: z.string(),
    client_id: z.string().nullable(),
    spiffe_id: z.string().nullable(),
  }),
  session: z.string().nullable().describe('sha256 of the session the call was made in'),
  client: z.record(z.string(), z.unknown()).nullable().describe('how the client described itself (self-asserted)'),
  approvers: z.unknown().describe("the obligation's approvers: 'self', or roles, subjects, groups"),
  reason: z.string().nullable(),
  decision_id: z.string().describe('the decision that parked the call'),
  created_at: z.string(),
  expires_at: z.string(),
  decided_at: z.string().nullable(),
  decided_by: approvalActorSchema.nullable(),
  note: z.string().nullable(),
  grant_expires_at: z.string().nullable(),
  consumed_at: z.string().nullable(),
  consumed_by: z.string().nullable().describe('the decision that used the grant'),
  revoked_at: z.string().nullable(),
  revoked_by: approvalActorSchema.nullable(),
});

/** `GET /v1/approvals` query. */
export const approvalListQuerySchema = z.strictObject({
  state: z.enum(['pending', 'granted', 'denied', 'consumed', 'expired', 'revoked']).optional(),
  server: serverSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** `POST /v1/approvals/{id}/decision` body: the approver's own token, and what it decides. */
export const approvalDecisionBodySchema = z.strictObject({
  token: tokenSchema.describe("the approver's own access token (audience: the call's server)"),
  decision: z.enum(['grant', 'deny']),
  note: z.string().min(1).max(1024).optional(),
});

/** `DELETE /v1/approvals/{id}` body (optional). */
export const approvalRevokeBodySchema = z.strictObject({ note: z.string().min(1).max(1024).optional() }).nullish();

/** The `{id}` of the approval routes. */
export const approvalParamsSchema = z.strictObject({ id: z.string().min(1).max(128) });
