import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, jwtVerify } from 'jose';
import Provider, { errors, type KoaContextWithOIDC, type TokenEndpointGrantContext } from 'oidc-provider';

/** A real OAuth 2.1 / OIDC authorization server (oidc-provider) on a loopback port. */
export interface AuthorizationServer {
  readonly issuer: string;
  readonly provider: Provider;
  /**
   * Signs `user` in through the authorization code flow with PKCE (the login form of
   * oidc-provider's dev interactions), for `resource` (RFC 8707): its JWT access token.
   */
  signIn(options: SignInOptions): Promise<string>;
  /** The client credentials grant (client_secret_basic) for `resource`: a JWT access token, `sub` the client. */
  clientCredentials(clientId: string, secret: string, resource: string, scope?: string): Promise<string>;
  /** RFC 8693 token exchange (needs `tokenExchange`): the new access token, or a {@link TokenEndpointError}. */
  exchange(options: ExchangeOptions): Promise<string>;
  stop(): Promise<void>;
}

export interface ExchangeOptions {
  /** The exchanging client, authenticated with client_secret_basic. */
  readonly clientId: string;
  readonly secret: string;
  /** An access token of this server: whose token is exchanged (its `sub`). */
  readonly subjectToken: string;
  /** An access token of this server naming the actor; the exchanging client acts when absent. */
  readonly actorToken?: string;
  readonly resource: string;
  readonly scope?: string;
}

/** A refusal of the token endpoint: its HTTP status, `error` and `error_description`. */
export class TokenEndpointError extends Error {
  readonly status: number;
  readonly error: string | undefined;
  readonly description: string | undefined;

  constructor(status: number, error: string | undefined, description: string | undefined) {
    super(`token: ${status} ${error} ${description}`);
    this.status = status;
    this.error = error;
    this.description = description;
  }
}

export interface SignInOptions {
  readonly user: string;
  readonly clientId: string;
  readonly resource: string;
  readonly scope?: string;
  /** Where the code goes; the client's first redirect URI when absent. */
  readonly redirectUri?: string;
}

/** One registered client: public (PKCE only, auth code) unless it has a secret. */
export interface ClientSpec {
  readonly client_id: string;
  readonly redirect_uris: readonly string[];
  readonly client_secret?: string;
  /**
   * `['authorization_code']` when absent; a confidential client may also (or only) have
   * `client_credentials` and {@link TOKEN_EXCHANGE}.
   */
  readonly grant_types?: readonly string[];
}

/** The scopes every resource offers; a token carries those asked for. */
const RESOURCE_SCOPES = 'mcp:read mcp:write mcp:admin';

/** How long an access token lives, in seconds. */
const ACCESS_TOKEN_TTL = 3600;

/** The grant type of OAuth 2.0 Token Exchange (RFC 8693). */
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** The only token type the exchange takes and issues: an access token. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** An `act` claim (RFC 8693 §4.1): the actor, with the one before it (if any) inside. */
interface Act {
  readonly sub: string;
  readonly client_id?: string;
  readonly iss?: string;
  readonly act?: unknown;
}

/**
 * Starts oidc-provider with JWT access tokens (ES256) for any `resources` (RFC 8707),
 * consent granted up front (the login is the interaction), PKCE required, and the token
 * claims `roles` from `roles[user]` and `auth_time` (the sign-in's, so an approver's
 * re-authentication can be checked). Clients that list it get the client credentials
 * grant; `tokenExchange` adds RFC 8693 token exchange (see {@link registerTokenExchange}),
 * and `mayAct[user]` puts that actor in the user's tokens as `may_act` (RFC 8693 §4.4).
 */
export async function startAuthorizationServer(options: {
  readonly clients: readonly ClientSpec[];
  readonly resources: readonly string[];
  readonly roles: Readonly<Record<string, readonly string[]>>;
  readonly tokenExchange?: boolean;
  readonly mayAct?: Readonly<Record<string, { readonly sub: string }>>;
}): Promise<AuthorizationServer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'as-1', alg: 'ES256', use: 'sig' };
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The claims of each token the exchange mints, for extraTokenClaims to put in it.
  const exchanged = new WeakMap<object, { roles: unknown; act: Act }>();
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => {
      const grantTypes = [...(c.grant_types ?? ['authorization_code'])];
      if (c.client_secret === undefined && grantTypes.some((g) => g !== 'authorization_code')) {
        throw new Error(`public client ${c.client_id} may only have authorization_code`);
      }
      return {
        client_id: c.client_id,
        redirect_uris: [...c.redirect_uris],
        grant_types: grantTypes,
        response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
        token_endpoint_auth_method: c.client_secret === undefined ? 'none' : 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
        ...(c.client_secret === undefined ? {} : { client_secret: c.client_secret }),
      };
    }),
    jwks: { keys: [jwk] },
    pkce: { required: () => true },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.resources[0]!,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => resourceServerInfo(options.resources, resource),
      },
    },
    // The sign-in is the interaction; consent is granted for what was asked.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { client, session, params } = ctx.oidc;
      if (client === undefined || session?.accountId === undefined) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid');
      const resource = typeof params?.resource === 'string' ? params.resource : options.resources[0]!;
      grant.addResourceScope(resource, RESOURCE_SCOPES);
      await grant.save();
      return grant;
    },
    // A client credentials token needs nothing here: oidc-provider makes its `sub` the client_id.
    extraTokenClaims: async (ctx, token) => {
      const minted = exchanged.get(token);
      if (minted !== undefined) return minted;
      const user = token.kind === 'AccessToken' ? token.accountId : '';
      const code = ctx.oidc.entities.AuthorizationCode as { authTime?: number } | undefined;
      const mayAct = options.mayAct?.[user];
      return {
        roles: [...(options.roles[user] ?? [])],
        ...(code?.authTime === undefined ? {} : { auth_time: code.authTime }),
        ...(mayAct === undefined ? {} : { may_act: { sub: mayAct.sub } }),
      };
    },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      ClientCredentials: ACCESS_TOKEN_TTL,
      Session: 3600,
      Interaction: 600,
      Grant: 3600,
    },
  });
  if (options.tokenExchange === true) {
    registerTokenExchange(provider, {
      resources: options.resources,
      verify: async (token) => {
        const { payload } = await jwtVerify(token, publicKey, {
          issuer,
          typ: 'at+jwt',
          algorithms: ['ES256'],
          requiredClaims: ['sub', 'exp', 'client_id'],
        });
        return payload;
      },
      exchanged,
    });
  }
  server.on('request', provider.callback());
  return {
    issuer,
    provider,
    signIn: (signIn) => authorizationCodeFlow(issuer, options.clients, signIn),
    clientCredentials: (clientId, secret, resource, scope = 'mcp:read') =>
      tokenRequest(issuer, { grant_type: 'client_credentials', resource, scope }, { clientId, secret }),
    exchange: ({ clientId, secret, subjectToken, actorToken, resource, scope }) =>
      tokenRequest(
        issuer,
        {
          grant_type: TOKEN_EXCHANGE,
          subject_token: subjectToken,
          subject_token_type: ACCESS_TOKEN_TYPE,
          ...(actorToken === undefined ? {} : { actor_token: actorToken, actor_token_type: ACCESS_TOKEN_TYPE }),
          resource,
          ...(scope === undefined ? {} : { scope }),
        },
        { clientId, secret },
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What every resource server is: JWT access tokens (ES256) with {@link RESOURCE_SCOPES}; unknown ones refused. */
function resourceServerInfo(resources: readonly string[], resource: string) {
  if (!resources.includes(resource)) throw new errors.InvalidTarget(`unknown resource ${resource}`);
  return {
    scope: RESOURCE_SCOPES,
    audience: resource,
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: 'ES256' as const } },
  };
}

/** The token exchange's parameters (RFC 8693 §2.1), `audience` left out: `resource` names the target. */
interface ExchangeParams {
  readonly subject_token?: string;
  readonly subject_token_type?: string;
  readonly actor_token?: string;
  readonly actor_token_type?: string;
  readonly requested_token_type?: string;
}

/**
 * Registers RFC 8693 token exchange through oidc-provider's extension point
 * (`provider.registerGrantType`, as its docs show for this very grant). Before the handler
 * runs, the token endpoint has authenticated the client and checked that its `grant_types`
 * list the grant (`invalid_request` otherwise), and refused duplicate parameters.
 *
 * `subject_token` must be an access token of this server (`verify`: signature, `iss`,
 * `exp`); the actor is `actor_token`'s `sub` and `client_id` when given, the exchanging
 * client otherwise, and must match the subject token's `may_act` if it has one. The new
 * token is oidc-provider's own AccessToken for `resource` (a JWT, audience the resource):
 * `sub` the subject's, `client_id` the exchanging client, `scope` the asked one within the
 * subject's, its `roles`, and `act` (the subject's `act` nested inside, newest actor
 * outermost) from extraTokenClaims through `exchanged`; `may_act` is not carried over.
 * It expires no later than the subject token.
 */
function registerTokenExchange(
  provider: Provider,
  config: {
    readonly resources: readonly string[];
    readonly verify: (token: string) => Promise<JWTPayload>;
    readonly exchanged: WeakMap<object, { roles: unknown; act: Act }>;
  },
): void {
  const refuse = (description: string) => new errors.CustomOIDCProviderError('invalid_grant', description);
  const verified = async (token: string | undefined, type: string | undefined, name: string) => {
    if (token === undefined) throw new errors.InvalidRequest(`missing ${name}`);
    if (type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest(`${name}_type must be ${ACCESS_TOKEN_TYPE}`);
    try {
      return await config.verify(token);
    } catch (error) {
      throw refuse(`${name} is not a valid access token of this issuer: ${(error as Error).message}`);
    }
  };
  const handler = async (ctx: TokenEndpointGrantContext<ExchangeParams>) => {
    const { client, params } = ctx.oidc;
    if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const resource = params.resource;
    if (typeof resource !== 'string') throw new errors.InvalidTarget('one resource indicator is required');
    const resourceServer = new provider.ResourceServer(resource, resourceServerInfo(config.resources, resource));
    const subject = await verified(params.subject_token, params.subject_token_type, 'subject_token');
    const actor: Act =
      params.actor_token === undefined && params.actor_token_type === undefined
        ? { sub: client.clientId }
        : await verified(params.actor_token, params.actor_token_type, 'actor_token').then((a) => ({
            sub: a.sub!,
            client_id: String(a.client_id),
            iss: provider.issuer,
          }));
    const mayAct = subject.may_act as { sub?: unknown; iss?: unknown; client_id?: unknown } | undefined;
    if (
      mayAct !== undefined &&
      (mayAct.sub !== actor.sub ||
        (mayAct.iss !== undefined && mayAct.iss !== provider.issuer) ||
        (mayAct.client_id !== undefined && mayAct.client_id !== actor.client_id))
    ) {
      throw refuse(`${actor.sub} may not act for ${subject.sub}`);
    }
    const held = new Set(String(subject.scope ?? '').split(' '));
    const asked = params.scope === undefined ? [...held] : params.scope.split(' ');
    const scope = asked.filter((s) => held.has(s) && resourceServer.scopes.has(s)).join(' ');
    const grant = new provider.Grant({ accountId: subject.sub!, clientId: client.clientId });
    grant.addResourceScope(resource, scope);
    const token = new provider.AccessToken({
      accountId: subject.sub!,
      client,
      grantId: await grant.save(),
      gty: TOKEN_EXCHANGE,
      scope: scope || undefined,
      resourceServer,
      expiresIn: Math.max(1, Math.min(ACCESS_TOKEN_TTL, subject.exp! - epoch())),
    });
    const act = subject.act === undefined ? actor : { ...actor, act: subject.act };
    config.exchanged.set(token, { roles: subject.roles ?? [], act });
    ctx.oidc.entity('AccessToken', token);
    ctx.body = {
      access_token: await token.save(),
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      ...(scope === '' ? {} : { scope }),
    };
  };
  provider.registerGrantType(TOKEN_EXCHANGE, handler, [
    'subject_token',
    'subject_token_type',
    'actor_token',
    'actor_token_type',
    'resource',
    'scope',
    'requested_token_type',
  ]);
}

const epoch = () => Math.floor(Date.now() / 1000);

/** One request to the token endpoint (client_secret_basic with `auth`): its access token, or a refusal. */
async function tokenRequest(
  issuer: string,
  params: Record<string, string>,
  auth?: { readonly clientId: string; readonly secret: string },
): Promise<string> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${auth.clientId}:${auth.secret}`).toString('base64')}`;
  }
  const res = await fetch(new URL('/token', issuer), { method: 'POST', headers, body: new URLSearchParams(params) });
  const answer = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
  if (answer.access_token === undefined)
    throw new TokenEndpointError(res.status, answer.error, answer.error_description);
  return answer.access_token;
}

/** The authorization code flow with PKCE, as a browser would follow it, with a cookie jar. */
async function authorizationCodeFlow(
  issuer: string,
  clients: readonly ClientSpec[],
  { user, clientId, resource, scope = 'openid mcp:read', redirectUri }: SignInOptions,
): Promise<string> {
  const client = clients.find((c) => c.client_id === clientId);
  if (client === undefined) throw new Error(`no client ${clientId}`);
  const redirect = redirectUri ?? client.redirect_uris[0]!;
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(8).toString('hex');
  const authorize = new URL('/auth', issuer);
  for (const [k, v] of Object.entries({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirect,
    scope,
    resource,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    prompt: 'login',
  }))
    authorize.searchParams.set(k, v);
  const stopped = await browse(authorize, { user, stopAt: (url) => url.href.startsWith(redirect) });
  if (!stopped.stopped) throw new Error(`the sign-in did not reach the redirect URI: ${summary(stopped)}`);
  const code = stopped.url.searchParams.get('code');
  if (code === null) {
    throw new Error(`the authorization server refused: ${stopped.url.searchParams.get('error_description')}`);
  }
  return tokenRequest(
    issuer,
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirect,
      code_verifier: verifier,
      resource,
      client_id: clientId,
    },
    client.client_secret === undefined ? undefined : { clientId, secret: client.client_secret },
  );
}

/** One cookie a browser keeps: per host (not port, as browsers do) and path. */
interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly host: string;
  readonly path: string;
}

/** A browser's cookies, shared across every origin it visits. */
export class CookieJar {
  readonly #cookies: StoredCookie[] = [];

  /** Keeps the cookies of an answer from `url` (Path and Max-Age=0 / a past Expires honoured). */
  store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const attr = (key: string) =>
        attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const path = attr('path') || url.pathname.replace(/\/[^/]*$/, '') || '/';
      const expires = attr('expires');
      const gone = attr('max-age') === '0' || (expires !== undefined && Date.parse(expires) <= Date.now());
      const index = this.#cookies.findIndex((c) => c.name === name && c.host === url.hostname && c.path === path);
      if (index !== -1) this.#cookies.splice(index, 1);
      if (!gone) this.#cookies.push({ name, value: pair!.slice(at + 1), host: url.hostname, path });
    }
  }

  /** The Cookie header a request to `url` carries, longest paths first; undefined when none. */
  header(url: URL): string | undefined {
    const matching = this.#cookies
      .filter((c) => c.host === url.hostname && pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length === 0 ? undefined : matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** The value of cookie `name` for `url`. */
  get(url: URL, name: string): string | undefined {
    return this.#cookies.find((c) => c.name === name && c.host === url.hostname && pathMatches(url.pathname, c.path))
      ?.value;
  }
}

function pathMatches(path: string, cookiePath: string): boolean {
  return path === cookiePath || path.startsWith(cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`);
}

export interface BrowseOptions {
  /** The browser's cookies; a fresh jar when absent. */
  readonly jar?: CookieJar;
  /** Who signs in at oidc-provider's dev login form; without one, the login page is where browsing ends. */
  readonly user?: string;
  /** A URL not to go to: browsing ends there, before fetching it (a redirect URI with its code). */
  readonly stopAt?: (url: URL) => boolean;
  /** The first request's method, headers and body; the others are GETs (and the login form's POSTs). */
  readonly init?: RequestInit;
}

/** Where browsing ended: the last answer, or the URL `stopAt` stopped at (`stopped`, no answer). */
export interface Browsed {
  readonly url: URL;
  readonly stopped: boolean;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  readonly jar: CookieJar;
}

/**
 * A browser-ish walk from `start`: follows redirects and `<meta http-equiv="refresh">`,
 * keeping cookies per host and path, and submits oidc-provider's login form
 * (`/interaction/…`) as `user`; it ends at the first other answer, or where `stopAt` says.
 */
export async function browse(start: URL | string, options: BrowseOptions = {}): Promise<Browsed> {
  const jar = options.jar ?? new CookieJar();
  let next: { url: URL; init: RequestInit } = { url: new URL(start), init: options.init ?? {} };
  for (let hop = 0; hop < 20; hop += 1) {
    const { url, init } = next;
    const cookie = jar.header(url);
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string> | undefined), ...(cookie === undefined ? {} : { cookie }) },
    });
    jar.store(url, res.headers);
    const location = res.headers.get('location');
    const body = location === null ? await res.text() : '';
    const refresh = /<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"/i.exec(body)?.[1];
    const target = location ?? (refresh === undefined ? null : refresh.replaceAll('&amp;', '&'));
    if (target !== null) {
      const to = new URL(target, url);
      if (options.stopAt?.(to)) return { url: to, stopped: true, status: 0, headers: new Headers(), body: '', jar };
      next = { url: to, init: {} };
      continue;
    }
    const action = /<form[^>]*action="([^"]+)"/.exec(body)?.[1];
    if (options.user === undefined || !url.pathname.startsWith('/interaction/') || action === undefined) {
      return { url, stopped: false, status: res.status, headers: res.headers, body, jar };
    }
    const fields = new URLSearchParams();
    for (const [input] of body.matchAll(/<input[^>]*>/g)) {
      const name = /\bname="([^"]*)"/.exec(input)?.[1];
      if (name !== undefined) fields.set(name, /\bvalue="([^"]*)"/.exec(input)?.[1] ?? '');
    }
    if (fields.has('login')) fields.set('login', options.user);
    if (fields.has('password')) fields.set('password', 'any');
    next = {
      url: new URL(action.replaceAll('&amp;', '&'), url),
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: fields.toString(),
      },
    };
  }
  throw new Error(`browsing from ${start} did not end in 20 hops`);
}

function summary(page: Browsed): string {
  const text = page.body
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .slice(0, 300);
  return `${page.url} answered ${page.status}: ${text}`;
}
