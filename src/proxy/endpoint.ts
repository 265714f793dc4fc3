import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Decision } from '../decision/types.ts';
import { TRANSPORT_METHOD, WardenRefusal, type Warden } from '../pep/warden.ts';
import { isListMethod } from '../pep/list-filter.ts';
import { PendingLists } from './list-responses.ts';
import { headerMismatch } from './modern-headers.ts';
import { HEADER, isModern, parseMessages, RpcCode, RpcParseError, rpcError, statedVersion, type ClientMessage, type JsonRpcId } from './protocol.ts';
import { relay, sendOwn, type OwnAnswer } from './respond.ts';
import { bearerChallenge, bearerToken, type ResourceIdentity } from './resource-server.ts';
import type { SessionMap } from './session-map.ts';
import { clientHeaders, type Upstream } from './upstream.ts';
import {
  decideMessages, decideOne, denialData, hasReason, SESSION_GONE, TOKEN_FAILURES, type DecisionContext, type Verdict,
} from './verdicts.ts';

export interface ProxyContext {
  readonly warden: Warden;
  readonly upstream: Upstream;
  readonly sessions: SessionMap;
  readonly identity: ResourceIdentity;
  readonly widenOnDemand: boolean;
  readonly insufficientScope: ReadonlySet<string>;
}

/** Session failures other than "gone": the state exists but is not this principal's to use. */
const SESSION_REFUSED: ReadonlySet<string> = new Set(['session_owner_mismatch', 'session_server_mismatch', 'session_kind_mismatch']);

/** Refusals of a session creation the client can fix by itself no better than by retrying later. */
const UNAVAILABLE: ReadonlySet<string> = new Set(['audit_unavailable', 'session_store_unavailable', 'policy_unavailable', 'pdp_unavailable']);

/** `POST` on the MCP endpoint: every JSON-RPC message is decided before anything is forwarded. */
export async function handlePost(ctx: ProxyContext, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  let parsed: ReturnType<typeof parseMessages>;
  try {
    parsed = parseMessages(request.body as Buffer);
  } catch (err) {
    if (!(err instanceof RpcParseError)) throw err;
    return sendOwn(reply, { status: 400, body: rpcError(null, err.rpcCode, err.message) });
  }
  const { messages, raw, batch } = parsed;
  const version = statedVersion(header(request, HEADER.protocolVersion), messages[0]);
  const base = decisionContext(ctx, request, undefined, version);
  if (isModern(version)) {
    if (batch) return sendOwn(reply, { status: 400, body: rpcError(null, RpcCode.invalidRequest, 'Invalid Request: a batch is not allowed in this protocol version') });
    const mismatch = headerMismatch(request.headers, messages[0]!);
    if (mismatch !== null) return sendOwn(reply, { status: 400, body: rpcError(idOf(messages[0]!), RpcCode.headerMismatch, `Header mismatch: ${mismatch}`) });
    return decideAndForward(ctx, request, reply, base, messages, raw, batch, null);
  }
  const initialize = messages.find((m) => m.type === 'request' && m.method === 'initialize');
  if (initialize !== undefined) {
    if (messages.length > 1) return sendOwn(reply, { status: 400, body: rpcError(null, RpcCode.invalidRequest, 'Invalid Request: initialize must be sent alone') });
    return initializeSession(ctx, request, reply, base, initialize, raw);
  }
  const sessionId = header(request, HEADER.sessionId);
  if (sessionId === undefined) {
    return sendOwn(reply, { status: 400, body: rpcError(null, RpcCode.invalidRequest, 'Bad Request: the Mcp-Session-Id header is required after initialize') });
  }
  return decideAndForward(ctx, request, reply, { ...base, session: sessionId }, messages, raw, batch, sessionId);
}

/** Legacy `GET`: the server's SSE stream of a session, opened only for its owner. */
export async function handleGet(ctx: ProxyContext, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  return sessionOperation(ctx, request, reply, TRANSPORT_METHOD.stream, async (_sessionId, upstreamId) => {
    const response = await ctx.upstream.send('GET', request.headers, upstreamId);
    await relay(reply, response, clientHeaders(response.headers), new PendingLists(), []);
  });
}

/** Legacy `DELETE`: the owner ends a session; it is revoked here, then closed upstream. */
export async function handleDelete(ctx: ProxyContext, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  return sessionOperation(ctx, request, reply, TRANSPORT_METHOD.close, async (sessionId, upstreamId) => {
    await ctx.warden.revokeSession({ id: sessionId, token: bearerToken(request.headers.authorization) });
    ctx.sessions.delete(sessionId);
    if (upstreamId === null) return sendOwn(reply, { status: 204 });
    const response = await ctx.upstream.send('DELETE', request.headers, upstreamId);
    await relay(reply, response, clientHeaders(response.headers), new PendingLists(), []);
  });
}

async function sessionOperation(
  ctx: ProxyContext,
  request: FastifyRequest,
  reply: FastifyReply,
  method: string,
  operation: (sessionId: string, upstreamId: string | null) => Promise<unknown>,
): Promise<unknown> {
  const version = header(request, HEADER.protocolVersion);
  if (isModern(version)) return sendOwn(reply, { status: 405, headers: { allow: 'POST' } });
  const sessionId = header(request, HEADER.sessionId);
  if (sessionId === undefined) return sendOwn(reply, { status: 400, body: rpcError(null, RpcCode.invalidRequest, 'Bad Request: the Mcp-Session-Id header is required') });
  const decision = await decideOne(decisionContext(ctx, request, sessionId, version), { method, protocol_version: version });
  if (!decision.allow) return sendOwn(reply, refusal(ctx, [{ message: { type: 'response', id: null }, decision }], sessionId, false)!);
  const upstreamId = ctx.sessions.get(sessionId);
  if (upstreamId === undefined) return sendOwn(reply, sessionNotFound(null, decision));
  try {
    return await operation(sessionId, upstreamId);
  } catch (err) {
    return upstreamFailure(reply, null, err);
  }
}

async function initializeSession(
  ctx: ProxyContext, request: FastifyRequest, reply: FastifyReply, base: DecisionContext, initialize: ClientMessage, raw: unknown[],
): Promise<unknown> {
  const verdicts = await decideMessages(base, [initialize]);
  const refused = refusal(ctx, verdicts, undefined, false);
  if (refused !== null) return sendOwn(reply, refused);
  let sessionId: string;
  try {
    sessionId = (await ctx.warden.createSession({ token: base.token, server: base.server, kind: 'mcp-session' })).id!;
  } catch (err) {
    return sendOwn(reply, creationRefusal(ctx, idOf(initialize), err));
  }
  let response;
  try {
    response = await ctx.upstream.send('POST', request.headers, null, Buffer.from(JSON.stringify(raw[0])));
  } catch (err) {
    await ctx.warden.revokeSession({ id: sessionId }).catch(() => undefined);
    return upstreamFailure(reply, idOf(initialize), err);
  }
  if (response.statusCode >= 300) {
    // The upstream refused to start a session: the warden session must not outlive that.
    await ctx.warden.revokeSession({ id: sessionId }).catch(() => undefined);
    return relay(reply, response, clientHeaders(response.headers), new PendingLists(), []);
  }
  const upstreamId = response.headers[HEADER.sessionId];
  const dropped = ctx.sessions.set(sessionId, typeof upstreamId === 'string' ? upstreamId : null);
  if (typeof dropped === 'string') closeUpstream(ctx, dropped);
  return relay(reply, response, { ...clientHeaders(response.headers), [HEADER.sessionId]: sessionId }, new PendingLists(), []);
}

async function decideAndForward(
  ctx: ProxyContext, request: FastifyRequest, reply: FastifyReply, decisionCtx: DecisionContext,
  messages: readonly ClientMessage[], raw: unknown[], batch: boolean, sessionId: string | null,
): Promise<unknown> {
  const verdicts = await decideMessages(decisionCtx, messages);
  const refused = refusal(ctx, verdicts, sessionId ?? undefined, batch);
  if (refused !== null) return sendOwn(reply, refused);
  let upstreamId: string | null = null;
  if (sessionId !== null) {
    const mapped = ctx.sessions.get(sessionId);
    if (mapped === undefined) return sendOwn(reply, sessionNotFound(firstRequestId(verdicts), verdicts[0]!.decision));
    upstreamId = mapped;
  }
  const lists = new PendingLists(async (method, candidates) => {
    const decision = await decideOne(decisionCtx, { method, params: {}, candidates, protocol_version: decisionCtx.protocolVersion });
    return decision.allow ? decision.visible_tools : null;
  });
  const own: unknown[] = [];
  const forwarded: unknown[] = [];
  verdicts.forEach(({ message, decision }, i) => {
    if (decision.allow) {
      forwarded.push(raw[i]);
      if (message.type === 'request' && isListMethod(message.method)) lists.add(message.id, message.method);
    } else if (message.type === 'request') {
      own.push(forbidden(message.id, decision));
    }
  });
  if (forwarded.length === 0) return sendOwn(reply, own.length > 0 ? { status: 200, body: own } : { status: 202 });
  const body = forwarded.length === raw.length ? (request.body as Buffer) : Buffer.from(JSON.stringify(forwarded));
  let response;
  try {
    response = await ctx.upstream.send('POST', request.headers, upstreamId, body);
  } catch (err) {
    return upstreamFailure(reply, firstRequestId(verdicts), err);
  }
  return relay(reply, response, clientHeaders(response.headers), lists, own);
}

/**
 * The HTTP-level answer when a deny is about the caller rather than one message: a bad
 * token (401 and a challenge), a session gone (404: re-initialize), state that is not
 * this principal's (403), or a single message refused for lack of scope (403
 * `insufficient_scope`). Null when the messages can be answered one by one.
 */
function refusal(ctx: ProxyContext, verdicts: readonly Verdict[], sessionId: string | undefined, batch: boolean): OwnAnswer | null {
  const id = firstRequestId(verdicts);
  const token = verdicts.find((v) => hasReason(v.decision, TOKEN_FAILURES));
  if (token !== undefined) {
    const missing = token.decision.reasons.every((r) => r.code === 'token_missing');
    return {
      status: 401,
      // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
      headers: { 'www-authenticate': missing ? bearerChallenge(ctx.identity) : bearerChallenge(ctx.identity, 'invalid_token', token.decision.reasons[0]!.message) },
      body: rpcError(id, RpcCode.forbidden, `Unauthorized: ${token.decision.reasons[0]!.message}`, denialData(token.decision)),
    };
  }
  const gone = verdicts.find((v) => hasReason(v.decision, SESSION_GONE));
  if (gone !== undefined) {
    if (sessionId !== undefined) {
      const upstreamId = ctx.sessions.delete(sessionId);
      if (typeof upstreamId === 'string') closeUpstream(ctx, upstreamId);
    }
    return sessionNotFound(id, gone.decision);
  }
  const notYours = verdicts.find((v) => hasReason(v.decision, SESSION_REFUSED));
  if (notYours !== undefined) return { status: 403, body: forbidden(id, notYours.decision) };
  if (batch || verdicts.length !== 1 || verdicts[0]!.decision.allow) return null;
  const { message, decision } = verdicts[0]!;
  if (hasReason(decision, ctx.insufficientScope)) {
    return {
      status: 403,
      headers: { 'www-authenticate': bearerChallenge(ctx.identity, 'insufficient_scope', decision.reasons[0]!.message) },
      body: forbidden(id, decision),
    };
  }
  return message.type === 'request' ? { status: 200, body: forbidden(message.id, decision) } : { status: 403, body: forbidden(null, decision) };
}

function creationRefusal(ctx: ProxyContext, id: JsonRpcId, err: unknown): OwnAnswer {
  const refusal = err instanceof WardenRefusal ? err : new WardenRefusal('internal_error', 'the session could not be created');
  const data = { reasons: refusal.reasons.length > 0 ? refusal.reasons : [{ code: refusal.code, message: refusal.message }] };
  const body = rpcError(id, RpcCode.forbidden, `Forbidden: ${refusal.message}`, data);
  if (TOKEN_FAILURES.has(refusal.code)) return { status: 401, headers: { 'www-authenticate': bearerChallenge(ctx.identity, 'invalid_token') }, body };
  return { status: UNAVAILABLE.has(refusal.code) ? 503 : 403, body };
}

function sessionNotFound(id: JsonRpcId, decision: Decision): OwnAnswer {
  return { status: 404, body: rpcError(id, RpcCode.sessionNotFound, 'Session not found: initialize a new session', denialData(decision)) };
}

function forbidden(id: JsonRpcId, decision: Decision): unknown {
  return rpcError(id, RpcCode.forbidden, `Forbidden: ${decision.reasons[0]?.message ?? 'denied'}`, denialData(decision));
}

function upstreamFailure(reply: FastifyReply, id: JsonRpcId, err: unknown): unknown {
  reply.log.warn({ err }, 'upstream request failed');
  if (reply.sent || reply.raw.headersSent) return reply.raw.destroy();
  return sendOwn(reply, { status: 502, body: rpcError(id, RpcCode.upstreamUnavailable, 'Bad Gateway: the upstream MCP server did not answer') });
}

/** Ends an upstream session nobody can reach any more (best effort: the upstream may have dropped it). */
function closeUpstream(ctx: ProxyContext, upstreamId: string): void {
  void ctx.upstream.send('DELETE', {}, upstreamId).then((r) => r.body.dump(), () => undefined);
}

function decisionContext(ctx: ProxyContext, request: FastifyRequest, session: string | undefined, version: string | undefined): DecisionContext {
  return {
    warden: ctx.warden,
    token: bearerToken(request.headers.authorization),
    session,
    server: ctx.identity.resource,
    protocolVersion: version,
    widenOnDemand: ctx.widenOnDemand,
  };
}

function firstRequestId(verdicts: readonly Verdict[]): JsonRpcId {
  for (const { message } of verdicts) if (message.type === 'request') return message.id;
  return null;
}

function idOf(message: ClientMessage): JsonRpcId {
  return message.type === 'notification' ? null : message.id;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

