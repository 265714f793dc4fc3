import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleConfig } from '../../config/console.ts';
import type { CoreDeps } from '../../decision/deps.ts';
import { statusOf, WardenError } from '../../errors.ts';
import type { PolicyReloader } from '../../policy/reloader.ts';
import type { CallerAuth } from '../caller.ts';
import { BoundedMap } from '../web/bounded-map.ts';
import { type CookieScope, readCookie, setCookie } from '../web/cookies.ts';
import { type Html, html } from '../web/html.ts';
import { sameSecret } from '../web/same-secret.ts';
import { createSignIn, type SignInClient, SignInFailed } from '../web/sign-in.ts';
import { CONSOLE_HEADERS, type PageFrame, page, problem } from './layout.ts';
import { consoleMount } from './mount.ts';
import { accessPage } from './pages/access.ts';
import { approvalsPage } from './pages/approvals.ts';
import { overviewPage } from './pages/overview.ts';
import { reviewPage } from './pages/review.ts';
import { recordPage, revokePrincipalAction, revokeRecordAction, reviewRecordAction, statePage } from './pages/state.ts';
import { timelinePage } from './pages/timeline.ts';
import { type ConsoleRole, type ConsoleUser, consoleRoles } from './users.ts';
import { continuePage, keySignInPage } from './pages/sign-in.ts';

/** The console (config `console`), as the service starts it. */
export interface ConsoleOptions {
  readonly url: string;
  /** The sign-in's resource and the token's verified audience. */
  readonly audience: string;
  /** The OIDC client users sign in with; absent only in dev mode. */
  readonly signIn?: Omit<SignInClient, 'redirectUri'> | undefined;
  /** Dev mode: an admin API key signs in too (`POST /sign-in/key`). */
  readonly keySignIn: boolean;
  readonly roles: ConsoleConfig['roles'];
  readonly sessionTtlSeconds: number;
  readonly review: ConsoleConfig['review'];
  /** What the trail page says of the trail: its witnesses, and where its verifier key is. */
  readonly trail: TrailFacts;
  /** The approval page's URL, where an approver decides; null when none is served. */
  readonly approvalPageUrl: string | null;
}

/** How the audit trail is set up, for its integrity at a glance. */
export interface TrailFacts {
  readonly sink: string;
  readonly witnesses: readonly string[];
  readonly requireWitness: boolean;
  /** The checkpoint key's verifier key (C2SP vkey), what an auditor trusts; null before the first checkpoint. */
  vkey(): string | null;
}

/** What every page handler gets. */
export interface PageContext {
  readonly core: CoreDeps;
  readonly reloader: PolicyReloader;
  readonly options: ConsoleOptions;
  readonly user: ConsoleUser;
  readonly frame: PageFrame;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly form: URLSearchParams;
  readonly params: Readonly<Record<string, string>>;
}

/** A page's answer: HTML, a download, or a redirect after a change (POST, then GET). */
export type PageAnswer =
  | { readonly html: string; readonly status?: number }
  | { readonly download: string; readonly type: string; readonly filename: string }
  | { readonly redirect: string };

type Handler = (ctx: PageContext) => Promise<PageAnswer>;

interface FlowState {
  readonly state: string;
  readonly verifier: string;
  /** The console path to land on after the sign-in. */
  readonly next: string;
}

const MAX_ENTRIES = 1000;
const FLOW_TTL_MS = 10 * 60 * 1000;
const FLOW_COOKIE = 'mwc_flow';
const SESSION_COOKIE = 'mwc_session';
const randomId = () => randomBytes(32).toString('base64url');
const ALL_ROLES: readonly ConsoleRole[] = ['viewer', 'responder', 'approver'];

/**
 * The incident-review console (docs/console.md): server-rendered pages, no script, forms
 * for every change. A user signs in with OIDC (authorization code, PKCE); the token is
 * verified for the console's audience and its roles mapped to console roles, then
 * dropped. Every change needs the console session cookie (SameSite=Strict, HttpOnly)
 * and the form's CSRF token, and is made as the admin caller `console:<sub>`.
 */
export const consoleRoutes: FastifyPluginAsync<{
  core: CoreDeps;
  reloader: PolicyReloader;
  auth: CallerAuth;
  options: ConsoleOptions;
  bodyLimit: number;
}> = async (app, { core, reloader, auth, options, bodyLimit }) => {
  const mount = consoleMount(options.url);
  const signIn = options.signIn && createSignIn({ ...options.signIn, redirectUri: mount.redirectUri });
  const flows = new BoundedMap<FlowState>(MAX_ENTRIES, FLOW_TTL_MS, core.clock);
  const users = new BoundedMap<ConsoleUser>(MAX_ENTRIES, options.sessionTtlSeconds * 1000, core.clock);
  const scope: CookieScope = { path: mount.path, secure: mount.secure };
  const issuer = options.signIn?.issuer.replace(/\/+$/, '') ?? null;
  const anonymous = (current: string): PageFrame => ({ mount: mount.path, current, user: null });

  const send = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).headers(CONSOLE_HEADERS).type('text/html; charset=utf-8').send(body);

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit },
    (_request, body, done) => done(null, new URLSearchParams(body as string)),
  );
  app.setNotFoundHandler((_request, reply) => send(reply, 404, problem(anonymous(''), 404, 'There is no such page.')));
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const frame = anonymous('');
    if (error instanceof WardenError) {
      return send(reply, statusOf(error.code), problem(frame, statusOf(error.code), error.message, error.code));
    }
    if (error instanceof SignInFailed)
      return send(reply, 502, problem(frame, 502, `The sign-in failed: ${error.message}.`));
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return send(reply, 413, problem(frame, 413, `The form is larger than ${bodyLimit} bytes.`));
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return send(reply, 415, problem(frame, 415, 'Send the form as application/x-www-form-urlencoded.'));
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return send(reply, 400, problem(frame, 400, 'The request is malformed.'));
    }
    request.log.error({ err: error }, 'console error');
    return send(reply, 500, problem(frame, 500, 'Internal error.'));
  });

  /** A console path to come back to: under the mount, never elsewhere. */
  const localPath = (value: string | undefined) => {
    if (value === undefined || value.startsWith('//') || /[\\\r\n]/.test(value)) return mount.path;
    const under = value === mount.path || value.startsWith(`${mount.path}/`) || value.startsWith(`${mount.path}?`);
    return under ? value : mount.path;
  };

  /** A new console session for `user`: its cookie set on `reply`. */
  const startSession = (reply: FastifyReply, user: ConsoleUser, expiresAt: number | undefined) => {
    const sessionId = randomId();
    users.set(sessionId, user, expiresAt);
    const left = Math.floor(((expiresAt ?? Number.POSITIVE_INFINITY) - core.clock()) / 1000);
    const maxAge = Math.max(0, Math.min(options.sessionTtlSeconds, left));
    void reply.header('set-cookie', setCookie(SESSION_COOKIE, sessionId, scope, 'Strict', maxAge));
  };

  app.get('/sign-in', { schema: { hide: true } }, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const next = localPath(query.next);
    if (signIn === undefined || (options.keySignIn && query.via !== 'issuer')) {
      const page = keySignInPage(anonymous(''), {
        next,
        issuer: options.signIn?.issuer ?? null,
        keyless: !auth.enabled,
      });
      return send(reply, 200, page);
    }
    const started = await signIn.start(options.audience);
    const flowId = randomId();
    flows.set(flowId, { state: started.state, verifier: started.verifier, next });
    return reply
      .code(302)
      .headers(CONSOLE_HEADERS)
      .header('set-cookie', setCookie(FLOW_COOKIE, flowId, scope, 'Lax', FLOW_TTL_MS / 1000))
      .header('location', started.url)
      .send();
  });

  // Dev mode only: an admin API key (or, without keys, the local caller) signs in with every role.
  if (options.keySignIn) {
    app.post('/sign-in/key', { schema: { hide: true } }, async (request, reply) => {
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      const caller = auth.authorizeKey(form.get('key') || null, ['admin']);
      const user: ConsoleUser = { iss: 'api-key', sub: caller.id, roles: ALL_ROLES, csrf: randomId() };
      startSession(reply, user, undefined);
      return reply
        .code(303)
        .headers(CONSOLE_HEADERS)
        .header('location', localPath(form.get('next') ?? undefined))
        .send();
    });
  }

  app.get('/callback', { schema: { hide: true } }, async (request, reply) => {
    if (signIn === undefined) return send(reply, 404, problem(anonymous(''), 404, 'There is no such page.'));
    const query = request.query as Record<string, unknown>;
    const param = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
    const flow = flows.take(readCookie(request.headers.cookie, FLOW_COOKIE));
    void reply.header('set-cookie', setCookie(FLOW_COOKIE, '', scope, 'Lax', 0));
    const frame = anonymous('');
    const state = param('state');
    if (flow === undefined || state === undefined || !sameSecret(state, flow.state)) {
      const message = 'This sign-in is unknown, expired, or was started in another browser. Sign in again.';
      return send(reply, 400, problem(frame, 400, message));
    }
    const iss = param('iss');
    if (iss !== undefined && iss.replace(/\/+$/, '') !== issuer) {
      return send(reply, 400, problem(frame, 400, 'The sign-in answer comes from another issuer.'));
    }
    const error = param('error');
    if (error !== undefined) {
      const named = /^[\w.-]{1,64}$/.test(error) ? ` (${error})` : '';
      return send(reply, 502, problem(frame, 502, `The sign-in failed: the issuer refused it${named}.`));
    }
    const code = param('code');
    if (code === undefined || code.length === 0)
      return send(reply, 400, problem(frame, 400, 'The answer has no code.'));
    const token = await signIn.exchange(code, flow.verifier, options.audience);
    // Verified like any token: issuer, signature, expiry, audience (the console's).
    const principal = await core.verifier.verify(token, options.audience);
    const roles = consoleRoles(principal.roles, options.roles);
    if (roles.length === 0) {
      const message = `${principal.sub} has no console role (console.roles): ask for viewer, responder or approver.`;
      return send(reply, 403, problem(frame, 403, message, 'console_role_missing'));
    }
    const exp = typeof principal.claims.exp === 'number' ? principal.claims.exp * 1000 : undefined;
    const user: ConsoleUser = { iss: principal.iss, sub: principal.sub, roles, csrf: randomId() };
    startSession(reply, user, exp);
    return send(reply, 200, continuePage(anonymous(''), flow.next, user.sub));
  });

  app.post('/sign-out', { schema: { hide: true } }, async (request, reply) => {
    const sessionId = readCookie(request.headers.cookie, SESSION_COOKIE);
    const user = users.get(sessionId);
    const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
    const csrf = form.get('csrf');
    if (user === undefined || csrf === null || !sameSecret(csrf, user.csrf)) {
      return send(reply, 403, problem(anonymous(''), 403, 'This form does not belong to your sign-in.'));
    }
    users.delete(sessionId);
    void reply.header('set-cookie', setCookie(SESSION_COOKIE, '', scope, 'Strict', 0));
    return send(reply, 200, page('Signed out', anonymous(''), signedOut(mount.path)));
  });

  /** A page for users holding one of `roles`; a POST also needs the form's CSRF token. */
  const route = (
    method: 'GET' | 'POST',
    url: string,
    current: string,
    roles: readonly ConsoleRole[],
    handler: Handler,
  ) =>
    app.route({
      method,
      url,
      schema: { hide: true },
      handler: async (request, reply) => {
        const user = users.get(readCookie(request.headers.cookie, SESSION_COOKIE));
        if (user === undefined) {
          if (method === 'POST') {
            return send(reply, 403, problem(anonymous(current), 403, 'You are not signed in (or your sign-in ended).'));
          }
          const next = encodeURIComponent(request.url);
          return reply
            .code(302)
            .headers(CONSOLE_HEADERS)
            .header('location', `${mount.path}/sign-in?next=${next}`)
            .send();
        }
        const frame: PageFrame = { mount: mount.path, current, user };
        if (!roles.some((r) => user.roles.includes(r))) {
          const message = `This needs the ${roles.join(' or ')} console role; you have ${user.roles.join(', ')}.`;
          return send(reply, 403, problem(frame, 403, message, 'console_role_missing'));
        }
        const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
        if (method === 'POST') {
          const csrf = form.get('csrf');
          if (csrf === null || !sameSecret(csrf, user.csrf)) {
            const message = 'The form has no valid CSRF token: reload the page and try again.';
            return send(reply, 403, problem(frame, 403, message, 'csrf_invalid'));
          }
        }
        const answer = await handler({
          core,
          reloader,
          options,
          user,
          frame,
          query: stringsOf(request),
          form,
          params: request.params as Record<string, string>,
        });
        if ('redirect' in answer)
          return reply.code(303).headers(CONSOLE_HEADERS).header('location', answer.redirect).send();
        if ('download' in answer) {
          return reply
            .code(200)
            .headers(CONSOLE_HEADERS)
            .type(answer.type)
            .header('content-disposition', `attachment; filename="${answer.filename}"`)
            .send(answer.download);
        }
        return send(reply, answer.status ?? 200, answer.html);
      },
    });

  const viewers: ConsoleRole[] = ['viewer'];
  const responders: ConsoleRole[] = ['responder'];
  route('GET', '/', '', viewers, overviewPage);
  route('GET', '/state', '/state', viewers, statePage);
  route('GET', '/state/:hash', '/state', viewers, recordPage);
  route('POST', '/state/:hash/revoke', '/state', responders, revokeRecordAction);
  route('POST', '/state/:hash/review', '/review', responders, reviewRecordAction);
  route('POST', '/principals/revoke', '/state', responders, revokePrincipalAction);
  route('GET', '/timeline', '/timeline', viewers, timelinePage);
  route('GET', '/access', '/access', viewers, accessPage);
  route('GET', '/review', '/review', viewers, reviewPage);
  route('GET', '/approvals', '/approvals', ['approver'], approvalsPage);
};

function stringsOf(request: FastifyRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}

function signedOut(mount: string): Html {
  return html`<p>You are signed out. <a href="${mount}/sign-in">Sign in again</a>.</p>`;
}
