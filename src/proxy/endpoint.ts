import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import type { Reason } from '../errors.ts';
import { denialKind, forbidden, refusalOf, refusalReasons, sessionGone } from '../pep/answers.ts';
import {
  credentialsOf,
  decideMessages,
  decideRequest,
  mintedStateHooks,
  upstreamIdentityOf,
  visibleAmong,
  type EnforcementContext,
  type Verdict,
} from '../pep/enforce.ts';
import {
  eraOf,
  eraRefusal,
  isModern,
  LEGACY_VERSIONS,
  legacyRefusal,
  metaVersion,
  modernRefusal,
  statedVersion,
  type Refusal,
} from '../pep/era.ts';
import { EraNotSupported } from '../errors.ts';
import { isListMethod } from '../pep/list-filter.ts';
import {
  firstRequestId,
  idOf,
  RpcCode,
  RpcParseError,
  rpcError,
  type ClientMessage,
  type JsonRpcId,
} from '../pep/message.ts';
import { refusedAnswer } from '../pep/refused.ts';
import { acceptsUrlElicitation, declaresUrlElicitation, deniedAnswer } from '../pep/url-elicitation.ts';
import { unsealedRequest } from '../pep/unsealed.ts';
import { duplicateInBatch, type PendingIds, type PendingRequest } from '../pep/pending-ids.ts';
import type { StreamSupervisor } from '../pep/stream-supervisor.ts';
import { TRANSPORT_METHOD, type Warden } from '../pep/warden.ts';
import { headerMismatch } from './modern-headers.ts';
import { AmbiguousBody, HEADER, parseMessages } from './protocol.ts';
import { relay, sendOwn, type OwnAnswer } from './respond.ts';
import { bearerChallenge, bearerToken, type ResourceIdentity } from './resource-server.ts';
import { ResponseScreen } from './response-screen.ts';
import type { SessionMap } from './session-map.ts';
import type { UpstreamEras } from './upstream-eras.ts';
import { clientHeaders, type Upstream } from './upstream.ts';

export interface ProxyContext {
  readonly warden: Warden;
  readonly upstream: Upstream;
  readonly eras: UpstreamEras;
  readonly sessions: SessionMap;
  readonly pending: PendingIds;
  readonly supervisor: StreamSupervisor;
  readonly identity: ResourceIdentity;
  readonly widenOnDemand: boolean;
  readonly obligations: ReadonlySet<string>;
  readonly insufficientScope: ReadonlySet<string>;
}

/** `POST` on the MCP endpoint: every JSON-RPC message is decided before anything is forwarded. */
export async function handlePost(ctx: ProxyContext, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  let parsed: ReturnType<typeof parseMessages>;
  try {
    parsed = parseMessages(request.body as Buffer);
  } catch (err) {
    if (!(err instanceof RpcParseError)) throw err;
    const data = err instanceof AmbiguousBody ? { reasons: [err.reason] } : undefined;
    return sendOwn(reply, { status: 400, body: rpcError(null, err.rpcCode, err.message, data) });
  }
  const { messages, raw, batch } = parsed;
  const unknown = await unknownVersion(ctx, request, messages[0]!);
  if (unknown !== null) return sendOwn(reply, refused(firstRequestId(messages), unknown));
  const version = statedVersion(header(request, HEADER.protocolVersion), messages[0]);
  const era = eraOf(version);
  const unspoken = eraRefusal(era, await ctx.eras.speaks(), version);
  if (unspoken !== null) return sendOwn(reply, refused(firstRequestId(messages), unspoken));
  const base = enforcementContext(ctx, request, undefined, version);
  if (era === 'modern') {
    if (batch)
      return sendOwn(reply, {
        status: 400,
        body: rpcError(
          null,
          RpcCode.invalidRequest,
          'Invalid Request: a batch is not allowed in this protocol version',
        ),
      });
    const message = messages[0]!;
    const modern = modernRefusal(message, version!, request.headers[HEADER.sessionId] !== undefined);
    if (modern !== null) return sendOwn(reply, refused(idOf(message), modern));
    const mismatch = headerMismatch(request.headers, message);
    if (mismatch !== null)
      return sendOwn(reply, {
        status: 400,
        body: rpcError(idOf(message), RpcCode.headerMismatch, `Header mismatch: ${mismatch}`),
      });
    // No session: the one message is the whole scope of its ids.
    return decideAndForward(ctx, request, reply, base, { ...parsed, sessionId: null, scope: `post:${randomUUID()}` });
  }
  const mixed = legacyRefusal(messages);
  if (mixed !== null) return sendOwn(reply, refused(firstRequestId(messages), mixed));
  const initialize = messages.find((m) => m.type === 'request' && m.method === 'initialize');
  if (initialize !== undefined) {
    if (messages.length > 1)
      return sendOwn(reply, {
        status: 400,
        body: rpcError(null, RpcCode.invalidRequest, 'Invalid Request: initialize must be sent alone'),
      });
    return initializeSession(ctx, request, reply, base, { message: initialize, raw: raw[0] });
  }
  const sessionId = header(request, HEADER.sessionId);
  if (sessionId === undefined) {
    return sendOwn(reply, {
      status: 400,
      body: rpcError(
        null,
        RpcCode.invalidRequest,
        'Bad Request: the Mcp-Session-Id header is required after initialize',
      ),
    });
  }
  return decideAndForward(
    ctx,
    request,
    reply,
    { ...base, session: sessionId },
    {
      ...parsed,
      sessionId,
      scope: `session:${ctx.sessions.keyOf(sessionId)}`,
    },
  );
}

/** Legacy `GET`: the server's SSE stream of a session, opened only for its owner, cut when its authority ends. */
export async function handleGet(ctx: ProxyContext, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  return sessionOperation(
    ctx,
    request,
    reply,
    TRANSPORT_METHOD.stream,
    async (sessionId, upstreamId, pep, identity) => {
      const response = await ctx.upstream.send('GET', request.headers, upstreamId, undefined, identity);
      const scope = `session:${ctx.sessions.keyOf(sessionId)}`;
      await relay(reply, response, {
        headers: clientHeaders(response.headers),
        screen: screenFor(ctx, pep, scope, false),
        ownMessages: [],
        watch: watcher(ctx, pep),
      });
    },
  );
}

/** Legacy `DELETE`: the owner ends a session; it is revoked here, its streams cut, then it is closed upstream. */
export async function handleDelete(ctx: ProxyContext, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  return sessionOperation(ctx, request, reply, TRANSPORT_METHOD.close, async (sessionId, upstreamId, pep, identity) => {
    await ctx.warden.revokeSession({ id: sessionId, ...credentialsOf(pep) });
    // The client's DELETE goes upstream below, with the client's headers.
    forgetSession(ctx, sessionId, { code: 'session_revoked', message: 'the session was ended by its owner' }, false);
    if (upstreamId === null) return sendOwn(reply, { status: 204 });
    const response = await ctx.upstream.send('DELETE', request.headers, upstreamId, undefined, identity);
    await relay(reply, response, {
      headers: clientHeaders(response.headers),
      screen: screenFor(ctx, pep, `delete:${randomUUID()}`, false),
      ownMessages: [],
      watch: noWatch,
    });
  });
}

async function sessionOperation(
  ctx: ProxyContext,
  request: FastifyRequest,
  reply: FastifyReply,
  method: string,
  operation: (
    sessionId: string,
    upstreamId: string | null,
    pep: EnforcementContext,
    identity: string | undefined,
  ) => Promise<unknown>,
): Promise<unknown> {
  const version = header(request, HEADER.protocolVersion);
  if (eraOf(version) === 'modern') return sendOwn(reply, { status: 405, headers: { allow: 'POST' } });
  const unspoken = eraRefusal('legacy', await ctx.eras.speaks());
  if (unspoken !== null) return sendOwn(reply, refused(null, unspoken));
  const sessionId = header(request, HEADER.sessionId);
  if (sessionId === undefined)
    return sendOwn(reply, {
      status: 400,
      body: rpcError(null, RpcCode.invalidRequest, 'Bad Request: the Mcp-Session-Id header is required'),
    });
  const pep = enforcementContext(ctx, request, sessionId, version);
  const decision = await decideRequest(pep, { method, protocol_version: version });
  if (!decision.allow)
    return sendOwn(reply, refusal(ctx, [{ message: { type: 'response', id: null }, decision }], pep, false)!);
  const upstreamId = ctx.sessions.get(sessionId);
  if (upstreamId === undefined) return sendOwn(reply, { status: 404, body: sessionGone(null, decision) });
  try {
    return await operation(sessionId, upstreamId, pep, decision.upstream_identity);
  } catch (err) {
    return upstreamFailure(ctx, reply, null, err);
  }
}

async function initializeSession(
  ctx: ProxyContext,
  request: FastifyRequest,
  reply: FastifyReply,
  pep: EnforcementContext,
  { message, raw }: { readonly message: ClientMessage; readonly raw: unknown },
): Promise<unknown> {
  const verdicts = await decideMessages(pep, [message]);
  const refusedAnswer = refusal(ctx, verdicts, { session: undefined, protocolVersion: pep.protocolVersion }, false);
  if (refusedAnswer !== null) return sendOwn(reply, refusedAnswer);
  let sessionId: string;
  try {
    sessionId = (await ctx.warden.createSession({ ...credentialsOf(pep), server: pep.server, kind: 'mcp-session' }))
      .id!;
  } catch (err) {
    return sendOwn(reply, creationRefusal(ctx, idOf(message), err));
  }
  let response: Dispatcher.ResponseData;
  try {
    const body = Buffer.from(JSON.stringify(raw));
    response = await ctx.upstream.send('POST', request.headers, null, body, upstreamIdentityOf(verdicts));
  } catch (err) {
    await ctx.warden.revokeSession({ id: sessionId }).catch(() => undefined);
    return upstreamFailure(ctx, reply, idOf(message), err);
  }
  const session = { ...pep, session: sessionId };
  const screen = screenFor(ctx, session, `init:${randomUUID()}`, false);
  if (response.statusCode >= 300) {
    // The upstream refused to start a session: the warden session must not outlive that.
    await ctx.warden.revokeSession({ id: sessionId }).catch(() => undefined);
    return relay(reply, response, {
      headers: clientHeaders(response.headers),
      screen,
      ownMessages: [],
      watch: noWatch,
    });
  }
  const upstreamId = response.headers[HEADER.sessionId];
  const urlElicitation = message.type === 'request' && declaresUrlElicitation(message.params.capabilities);
  const dropped = ctx.sessions.set(sessionId, typeof upstreamId === 'string' ? upstreamId : null, urlElicitation);
  if (typeof dropped === 'string') closeUpstream(ctx, dropped);
  return relay(reply, response, {
    headers: { ...clientHeaders(response.headers), [HEADER.sessionId]: sessionId },
    screen,
    ownMessages: [],
    watch: watcher(ctx, session),
  });
}

/**
 * The messages of one POST, and where their ids are scoped: the session (legacy), or the
 * one request when there is no session (modern).
 */
type Forwarding = ReturnType<typeof parseMessages> & { readonly sessionId: string | null; readonly scope: string };

async function decideAndForward(
  ctx: ProxyContext,
  request: FastifyRequest,
  reply: FastifyReply,
  pep: EnforcementContext,
  { messages, raw, batch, sessionId, scope }: Forwarding,
): Promise<unknown> {
  const repeated = duplicateInBatch(messages);
  if (repeated !== undefined) return sendOwn(reply, duplicate(firstRequestId(messages), repeated));
  const verdicts = await decideMessages(pep, messages);
  const refusedAnswer = refusal(
    ctx,
    verdicts,
    { session: sessionId ?? undefined, protocolVersion: pep.protocolVersion },
    batch,
  );
  if (refusedAnswer !== null) return sendOwn(reply, refusedAnswer);
  let upstreamId: string | null = null;
  if (sessionId !== null) {
    const mapped = ctx.sessions.get(sessionId);
    if (mapped === undefined)
      return sendOwn(reply, { status: 404, body: sessionGone(firstRequestId(messages), verdicts[0]!.decision) });
    upstreamId = mapped;
  }
  const own: unknown[] = [];
  const forwarded: unknown[] = [];
  const requests: PendingRequest[] = [];
  let rewritten = false;
  verdicts.forEach(({ message, decision }, i) => {
    if (decision.allow) {
      // A multi-round-trip retry goes upstream with the upstream's own requestState, unsealed.
      const unsealed = unsealedRequest(raw[i], decision);
      rewritten ||= unsealed !== raw[i];
      forwarded.push(unsealed);
      if (message.type === 'request')
        requests.push({ id: message.id, method: message.method, handleResult: decision.handle_result });
    } else if (message.type === 'request') {
      own.push(deniedAnswer(message.id, decision, clientOf(ctx, pep, message)));
    }
  });
  if (forwarded.length === 0) return sendOwn(reply, own.length > 0 ? { status: 200, body: own } : { status: 202 });
  // An id still pending on this session is refused: its answer could be routed to the other request.
  const release = ctx.pending.claim(scope, requests);
  if (typeof release !== 'function') return sendOwn(reply, duplicate(requests[0]?.id ?? null, release));
  try {
    const body =
      forwarded.length === raw.length && !rewritten
        ? (request.body as Buffer)
        : Buffer.from(JSON.stringify(batch ? forwarded : forwarded[0]));
    let response: Dispatcher.ResponseData;
    try {
      response = await ctx.upstream.send('POST', request.headers, upstreamId, body, upstreamIdentityOf(verdicts));
    } catch (err) {
      return upstreamFailure(ctx, reply, firstRequestId(messages), err);
    }
    // Lists and tool results that carry a handle are always parsed (no fast path).
    const lists = requests.some((r) => isListMethod(r.method) || r.handleResult !== undefined);
    return await relay(reply, response, {
      headers: clientHeaders(response.headers),
      screen: screenFor(ctx, pep, scope, lists),
      ownMessages: own,
      watch: watcher(ctx, pep),
    });
  } finally {
    release();
  }
}

/**
 * The HTTP-level answer when a deny is about the caller rather than one message, by the
 * family of its reasons: a bad token (401 and a challenge), a session gone (404:
 * re-initialize), state that is not this principal's (403), the decision service
 * unavailable (503), or a single message refused for lack of scope (403
 * `insufficient_scope`). Null when the messages can be answered one by one.
 */
function refusal(
  ctx: ProxyContext,
  verdicts: readonly Verdict[],
  pep: Pick<EnforcementContext, 'session' | 'protocolVersion'>,
  batch: boolean,
): OwnAnswer | null {
  const sessionId = pep.session;
  const id = firstRequestId(verdicts.map((v) => v.message));
  const denied = verdicts
    .filter((v) => !v.decision.allow)
    .map((v) => ({ decision: v.decision, kind: denialKind(v.decision.reasons) }));
  const of = (kind: string) => denied.find((d) => d.kind === kind)?.decision;
  const token = of('identity');
  if (token !== undefined) {
    const missing = token.reasons.every((r) => r.code === 'token_missing');
    return {
      status: 401,
      // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
      // The scopes are the resource's (`scopes_supported`): which ones this request needs
      // is only known once a token was verified and the policy asked.
      headers: {
        'www-authenticate': missing
          ? bearerChallenge(ctx.identity, undefined, undefined, ctx.identity.scopesSupported)
          : bearerChallenge(ctx.identity, 'invalid_token', token.reasons[0]!.message, ctx.identity.scopesSupported),
      },
      body: rpcError(id, RpcCode.forbidden, `Unauthorized: ${token.reasons[0]!.message}`, {
        reasons: token.reasons,
        decision_id: token.decision_id,
      }),
    };
  }
  const gone = of('state_gone');
  if (gone !== undefined) {
    if (sessionId !== undefined) forgetSession(ctx, sessionId, gone.reasons[0]!);
    return { status: 404, body: sessionGone(id, gone) };
  }
  const notYours = of('state_refused');
  if (notYours !== undefined) return { status: 403, body: forbidden(id, notYours) };
  const unavailable = of('unavailable');
  if (unavailable !== undefined) return { status: 503, body: forbidden(id, unavailable) };
  if (batch || verdicts.length !== 1 || verdicts[0]!.decision.allow) return null;
  const { message, decision } = verdicts[0]!;
  // Step-up only where a token with more scopes would pass: every reason is one a scope
  // fixes (the session's scope is widened on demand once the token may), and the policy
  // named the scopes. Any other deny is plain, so that a client does not loop on re-auth.
  const scopes = decision.required_scopes ?? [];
  const fixable = (code: string) => ctx.insufficientScope.has(code) || code === 'tool_not_in_session_scope';
  if (scopes.length > 0 && decision.reasons.every((r) => fixable(r.code))) {
    return {
      status: 403,
      headers: {
        'www-authenticate': bearerChallenge(ctx.identity, 'insufficient_scope', decision.reasons[0]!.message, scopes),
      },
      body: forbidden(id, decision),
    };
  }
  return message.type === 'request'
    ? { status: 200, body: deniedAnswer(message.id, decision, clientOf(ctx, pep, message)) }
    : { status: 403, body: forbidden(null, decision) };
}

/** What a denied request's answer depends on of its client: the version, and whether it takes URL elicitation. */
function clientOf(
  ctx: ProxyContext,
  pep: { readonly session: string | undefined; readonly protocolVersion: string | undefined },
  message: ClientMessage & { readonly type: 'request' },
): { readonly protocolVersion: string | undefined; readonly urlElicitation: boolean } {
  const declared = pep.session !== undefined && ctx.sessions.acceptsUrlElicitation(pep.session);
  return {
    protocolVersion: pep.protocolVersion,
    urlElicitation: acceptsUrlElicitation(message, pep.protocolVersion, declared),
  };
}

function creationRefusal(ctx: ProxyContext, id: JsonRpcId, err: unknown): OwnAnswer {
  const refusedBy = refusalOf(err, 'creating the session');
  const reasons = refusedBy.reasons.length > 0 ? refusedBy.reasons : refusalReasons(refusedBy);
  const body = rpcError(id, RpcCode.forbidden, `Forbidden: ${refusedBy.message}`, { reasons });
  switch (denialKind([{ code: refusedBy.code, message: refusedBy.message }])) {
    case 'identity':
      return {
        status: 401,
        headers: {
          'www-authenticate': bearerChallenge(ctx.identity, 'invalid_token', undefined, ctx.identity.scopesSupported),
        },
        body,
      };
    case 'unavailable':
      return { status: 503, body };
    default:
      return { status: 403, body };
  }
}

/**
 * A request that states (in its header, else its `_meta`) a protocol version of neither
 * era (`v999.0.0`, `2025-01-01`) is in no era the upstream speaks: it gets MCP
 * 2026-07-28's UnsupportedProtocolVersion (-32022, HTTP 400) with the versions it could
 * use and the one it asked for, as a server that does not implement a version MUST
 * answer. Not the version `initialize` offers: that one is negotiated.
 */
async function unknownVersion(
  ctx: ProxyContext,
  request: FastifyRequest,
  first: ClientMessage,
): Promise<Refusal | null> {
  const meta = metaVersion(first);
  const stated = header(request, HEADER.protocolVersion) ?? (typeof meta === 'string' ? meta : undefined);
  if (stated === undefined || isModern(stated) || LEGACY_VERSIONS.includes(stated)) return null;
  const reason = new EraNotSupported(`the protocol version '${stated}' is not one the upstream speaks`);
  return {
    status: 400,
    rpcCode: RpcCode.unsupportedProtocolVersion,
    reason: { code: reason.code, message: reason.message },
    data: { supported: [...(await ctx.eras.supportedVersions())], requested: stated },
  };
}

function refused(id: JsonRpcId, problem: Refusal): OwnAnswer {
  return { status: problem.status, body: refusedAnswer(id, problem) };
}

function duplicate(id: JsonRpcId, err: { code: string; message: string }): OwnAnswer {
  return {
    status: 400,
    body: rpcError(id, RpcCode.invalidRequest, `Invalid Request: ${err.message}`, {
      reasons: [{ code: err.code, message: err.message }],
    }),
  };
}

/** A request message with `params.requestState` replaced (the upstream's value, unsealed by the decision). */
function screenFor(ctx: ProxyContext, pep: EnforcementContext, scope: string, listsPending: boolean): ResponseScreen {
  return new ResponseScreen({
    pendingMethod: (id) => ctx.pending.methodOf(scope, id),
    pendingHandleResult: (id) => ctx.pending.requestOf(scope, id)?.handleResult,
    visibleFor: (method) => visibleAmong(pep, method),
    modern: eraOf(pep.protocolVersion) === 'modern',
    ...mintedStateHooks(pep),
    listsPending,
  });
}

/** Streams are supervised under the token and session they were opened with. */
function watcher(ctx: ProxyContext, pep: EnforcementContext): (cut: () => void) => () => void {
  return (cut) => ctx.supervisor.watch({ ...credentialsOf(pep), session: pep.session, server: pep.server }, cut);
}

const noWatch = (): (() => void) => () => undefined;

/**
 * A session this proxy will not serve again: its mapping, its pending ids and its streams
 * go, and it is closed upstream.
 */
function forgetSession(ctx: ProxyContext, sessionId: string, reason: Reason, closeIt = true): void {
  ctx.pending.drop(`session:${ctx.sessions.keyOf(sessionId)}`);
  ctx.supervisor.cutSession(sessionId, reason);
  const upstreamId = ctx.sessions.delete(sessionId);
  if (closeIt && typeof upstreamId === 'string') closeUpstream(ctx, upstreamId);
}

function upstreamFailure(ctx: ProxyContext, reply: FastifyReply, id: JsonRpcId, err: unknown): unknown {
  reply.log.warn({ err }, 'upstream request failed');
  ctx.eras.forget();
  if (reply.sent || reply.raw.headersSent) return reply.raw.destroy();
  return sendOwn(reply, {
    status: 502,
    body: rpcError(id, RpcCode.upstreamUnavailable, 'Bad Gateway: the upstream MCP server did not answer'),
  });
}

/** Ends an upstream session nobody can reach any more (best effort: the upstream may have dropped it). */
function closeUpstream(ctx: ProxyContext, upstreamId: string): void {
  void ctx.upstream.send('DELETE', {}, upstreamId).then(
    (r) => r.body.dump(),
    () => undefined,
  );
}

function enforcementContext(
  ctx: ProxyContext,
  request: FastifyRequest,
  session: string | undefined,
  version: string | undefined,
): EnforcementContext {
  return {
    warden: ctx.warden,
    server: ctx.identity.resource,
    token: bearerToken(request.headers.authorization),
    agentToken: header(request, HEADER.agentIdentity),
    session,
    protocolVersion: version,
    widenOnDemand: ctx.widenOnDemand,
    obligations: ctx.obligations,
    upstreamIdentity: ctx.upstream.identityHeader !== undefined,
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
