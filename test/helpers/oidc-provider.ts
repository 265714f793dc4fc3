import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

/** A real OAuth 2.1 / OIDC authorization server (oidc-provider) on a loopback port. */
export interface AuthorizationServer {
  readonly issuer: string;
  readonly provider: Provider;
  /**
   * Signs `user` in through the authorization code flow with PKCE (the login form of
   * oidc-provider's dev interactions), for `resource` (RFC 8707): its JWT access token.
   */
  signIn(options: SignInOptions): Promise<string>;
  stop(): Promise<void>;
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
}

/** The scopes every resource offers; a token carries those asked for. */
const RESOURCE_SCOPES = 'mcp:read mcp:write mcp:admin';

/**
 * Starts oidc-provider with JWT access tokens (ES256) for any `resources` (RFC 8707),
 * consent granted up front (the login is the interaction), PKCE required, and the token
 * claims `roles` from `roles[user]` and `auth_time` (the sign-in's, so an approver's
 * re-authentication can be checked).
 */
export async function startAuthorizationServer(options: {
  readonly clients: readonly ClientSpec[];
  readonly resources: readonly string[];
  readonly roles: Readonly<Record<string, readonly string[]>>;
}): Promise<AuthorizationServer> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'as-1', alg: 'ES256', use: 'sig' };
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.client_id,
      redirect_uris: [...c.redirect_uris],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.client_secret === undefined ? 'none' : 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      ...(c.client_secret === undefined ? {} : { client_secret: c.client_secret }),
    })),
    jwks: { keys: [jwk] },
    pkce: { required: () => true },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    features: {
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.resources[0]!,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (!options.resources.includes(resource)) throw new Error(`unknown resource ${resource}`);
          return {
            scope: RESOURCE_SCOPES,
            audience: resource,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
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
    extraTokenClaims: async (ctx, token) => {
      const user = 'accountId' in token ? String(token.accountId) : '';
      const code = ctx.oidc.entities.AuthorizationCode as { authTime?: number } | undefined;
      return {
        roles: [...(options.roles[user] ?? [])],
        ...(code?.authTime === undefined ? {} : { auth_time: code.authTime }),
      };
    },
    ttl: { AccessToken: 3600, Session: 3600, Interaction: 600, Grant: 3600 },
  });
  server.on('request', provider.callback());
  return {
    issuer,
    provider,
    signIn: (signIn) => authorizationCodeFlow(issuer, options.clients, signIn),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
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
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirect,
    code_verifier: verifier,
    resource,
    client_id: clientId,
  });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.client_secret !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${clientId}:${client.client_secret}`).toString('base64')}`;
  }
  const res = await fetch(new URL('/token', issuer), { method: 'POST', headers, body });
  const answer = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
  if (answer.access_token === undefined)
    throw new Error(`token: ${res.status} ${answer.error} ${answer.error_description}`);
  return answer.access_token;
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
