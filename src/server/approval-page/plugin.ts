import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
import { decodeJwt } from 'jose';
import { approvalView, decideApproval, getApproval, MAX_NOTE } from '../../decision/approvals.ts';
import type { CoreDeps } from '../../decision/deps.ts';
import type { Caller } from '../../decision/types.ts';
import { ApprovalUnknown, statusOf, WardenError } from '../../errors.ts';
import { type CookieScope, FLOW_COOKIE, readCookie, SESSION_COOKIE, setCookie } from '../web/cookies.ts';
import { PAGE_ROUTES, pageMount } from './mount.ts';
import { continuePage, outcomePage, PAGE_HEADERS, problemPage, requestPage } from './render.ts';
import { BoundedMap } from '../web/bounded-map.ts';
import { sameSecret } from '../web/same-secret.ts';
import { PAGE_MAX_ENTRIES, PAGE_TTL_MS, type PageSession, type SignInFlow } from './sessions.ts';
import { createSignIn, type SignInClient, SignInFailed } from '../web/sign-in.ts';

/** The approval page (config `approvals.sign_in`). */
export interface ApprovalPageOptions {
  /** The page as clients reach it: the effective `approvals.page_url`. */
  readonly pageUrl: string;
  /** The page's OIDC client; its redirect URI is `<pageUrl>/callback`. */
  readonly signIn: Omit<SignInClient, 'redirectUri'>;
}

/** The API caller the page decides as: the approver's token is what decides, not this. */
export const PAGE_CALLER: Caller = Object.freeze({ id: 'approval-page', role: 'admin' });

const TTL_SECONDS = PAGE_TTL_MS / 1000;
const randomId = () => randomBytes(32).toString('base64url');

/** The token's `sub` and `exp`, decoded for display and the session's end only: the decision verifies it. */
function displayClaims(token: string): { sub: string; expiresAt: number | undefined } {
  try {
    const { sub, exp } = decodeJwt(token);
    return {
      sub: typeof sub === 'string' ? sub : 'an unnamed principal',
      expiresAt: typeof exp === 'number' ? exp * 1000 : undefined,
    };
  } catch {
    return { sub: 'an unnamed principal', expiresAt: undefined };
  }
}

/**
 * The approval page (docs/approvals.md): a server-rendered page, no script. `GET /:id`
 * signs the approver in (authorization code, PKCE, `prompt=login`, the call's server as
 * `resource`) and shows the request; the form posts the decision, which the approver's
 * token makes. One decision per sign-in. Mounted at the page URL's path.
 */
export const approvalPageRoutes: FastifyPluginAsync<{
  core: CoreDeps;
  page: ApprovalPageOptions;
  bodyLimit: number;
}> = async (app, { core, page, bodyLimit }) => {
  const mount = pageMount(page.pageUrl);
  const signIn = createSignIn({ ...page.signIn, redirectUri: mount.redirectUri });
  const flows = new BoundedMap<SignInFlow>(PAGE_MAX_ENTRIES, PAGE_TTL_MS, core.clock);
  const sessions = new BoundedMap<PageSession>(PAGE_MAX_ENTRIES, PAGE_TTL_MS, core.clock);
  const scope: CookieScope = { path: mount.path, secure: mount.secure };
  const issuer = page.signIn.issuer.replace(/\/+$/, '');

  const send = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(body);
  const problem = (reply: FastifyReply, status: number, message: string, code?: string) =>
    send(reply, status, problemPage(status, message, code));

  // The form's encoding, for this page only; the API stays JSON only.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit },
    (_request, body, done) => done(null, new URLSearchParams(body as string)),
  );

  app.setNotFoundHandler((_request, reply) => problem(reply, 404, 'There is no such page.'));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof WardenError) return problem(reply, statusOf(error.code), error.message, error.code);
    if (error instanceof SignInFailed) return problem(reply, 502, `The sign-in failed: ${error.message}.`);
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return problem(reply, 413, `The form is larger than ${bodyLimit} bytes.`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return problem(reply, 415, 'Send the form as application/x-www-form-urlencoded.');
      case 'FST_ERR_HANDLER_TIMEOUT':
        return problem(reply, 503, 'The request was not answered in time.');
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return problem(reply, 400, 'The request is malformed.');
    }
    request.log.error({ err: error }, 'approval page error');
    return problem(reply, 500, 'Internal error.');
  });

  app.get(PAGE_ROUTES.request, { schema: { hide: true } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const record = await getApproval(core, id).catch((err: unknown) => {
      if (err instanceof ApprovalUnknown) return undefined;
      throw err;
    });
    if (record === undefined) {
      return problem(reply, 404, 'No approval request has this id, or it is past its retention.', ApprovalUnknown.code);
    }
    const session = sessions.get(readCookie(request.headers.cookie, SESSION_COOKIE));
    if (session?.approvalId === id) {
      const action = `${mount.path}/${encodeURIComponent(id)}/decision`;
      return send(
        reply,
        200,
        requestPage(approvalView(core, record), { signedInAs: session.sub, csrf: session.csrf, action }),
      );
    }
    const started = await signIn.start(record.server);
    const flowId = randomId();
    flows.set(flowId, { state: started.state, verifier: started.verifier, approvalId: id, resource: record.server });
    return reply
      .code(302)
      .headers(PAGE_HEADERS)
      .header('set-cookie', setCookie(FLOW_COOKIE, flowId, scope, 'Lax', TTL_SECONDS))
      .header('location', started.url)
      .send();
  });

  app.get(PAGE_ROUTES.callback, { schema: { hide: true } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const param = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
    // A flow is used once, whatever comes of it.
    const flow = flows.take(readCookie(request.headers.cookie, FLOW_COOKIE));
    // Fastify appends every set-cookie header: the flow's end goes with any answer.
    void reply.header('set-cookie', setCookie(FLOW_COOKIE, '', scope, 'Lax', 0));
    const state = param('state');
    if (flow === undefined || state === undefined || !sameSecret(state, flow.state)) {
      return problem(
        reply,
        400,
        'This sign-in is unknown, expired, or was started in another browser. Open the approval link again.',
      );
    }
    const iss = param('iss');
    if (iss !== undefined && iss.replace(/\/+$/, '') !== issuer) {
      return problem(reply, 400, 'The sign-in answer comes from another issuer.');
    }
    const error = param('error');
    if (error !== undefined) {
      const named = /^[\w.-]{1,64}$/.test(error) ? ` (${error})` : '';
      return problem(reply, 502, `The sign-in failed: the issuer refused it${named}.`);
    }
    const code = param('code');
    if (code === undefined || code.length === 0) return problem(reply, 400, 'The sign-in answer has no code.');
    const token = await signIn.exchange(code, flow.verifier, flow.resource);
    const { sub, expiresAt } = displayClaims(token);
    const sessionId = randomId();
    sessions.set(sessionId, { token, sub, approvalId: flow.approvalId, csrf: randomId() }, expiresAt);
    const maxAge = Math.max(0, Math.min(TTL_SECONDS, Math.floor(((expiresAt ?? Infinity) - core.clock()) / 1000)));
    void reply.header('set-cookie', setCookie(SESSION_COOKIE, sessionId, scope, 'Strict', maxAge));
    return send(reply, 200, continuePage(`${mount.path}/${encodeURIComponent(flow.approvalId)}`, sub));
  });

  app.post(PAGE_ROUTES.decision, { schema: { hide: true } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
    const sessionId = readCookie(request.headers.cookie, SESSION_COOKIE);
    const session = sessions.get(sessionId);
    const csrf = form.get('csrf');
    if (session === undefined || session.approvalId !== id || csrf === null || !sameSecret(csrf, session.csrf)) {
      return problem(
        reply,
        403,
        'This form does not belong to a sign-in for this request (no session, an expired one, or a wrong ' +
          'CSRF token). Open the approval link again.',
      );
    }
    const decision = form.get('decision');
    if (decision !== 'grant' && decision !== 'deny') return problem(reply, 400, 'Choose grant or deny.');
    const note = form.get('note') ?? '';
    if (note.length > MAX_NOTE) return problem(reply, 400, `The note is longer than ${MAX_NOTE} characters.`);
    // One decision per sign-in, whatever its outcome.
    sessions.delete(sessionId);
    void reply.header('set-cookie', setCookie(SESSION_COOKIE, '', scope, 'Strict', 0));
    try {
      const decided = await decideApproval(
        core,
        { id, token: session.token, decision, note: note === '' ? undefined : note },
        PAGE_CALLER,
      );
      return send(reply, 200, outcomePage(approvalView(core, decided), session.sub));
    } catch (err) {
      if (err instanceof WardenError) return problem(reply, statusOf(err.code), err.message, err.code);
      throw err;
    }
  });
};
