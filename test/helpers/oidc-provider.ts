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
  const jar = new Map<string, string>();
  const code = await followToCode(authorize, redirect, jar, user);
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

/** Follows redirects (keeping cookies), submits the dev login form as `user`, until the redirect to `redirect` with a code. */
async function followToCode(start: URL, redirect: string, jar: Map<string, string>, user: string): Promise<string> {
  let next: { url: URL; init: RequestInit } = { url: start, init: {} };
  for (let hop = 0; hop < 20; hop += 1) {
    const res = await fetch(next.url, {
      ...next.init,
      redirect: 'manual',
      headers: { ...next.init.headers, cookie: cookies(jar) },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    const location = res.headers.get('location');
    if (location !== null) {
      const target = new URL(location, next.url);
      if (target.href.startsWith(redirect)) {
        const code = target.searchParams.get('code');
        if (code === null)
          throw new Error(`the authorization server refused: ${target.searchParams.get('error_description')}`);
        return code;
      }
      next = { url: target, init: {} };
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (res.status !== 200 || action === undefined)
      throw new Error(
        `sign-in stopped at ${next.url}: ${res.status} ${html
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .slice(0, 300)}`,
      );
    const fields = new URLSearchParams();
    for (const [input] of html.matchAll(/<input[^>]*>/g)) {
      const name = /\bname="([^"]*)"/.exec(input)?.[1];
      if (name !== undefined) fields.set(name, /\bvalue="([^"]*)"/.exec(input)?.[1] ?? '');
    }
    if (fields.has('login')) fields.set('login', user);
    if (fields.has('password')) fields.set('password', 'any');
    next = {
      url: new URL(action.replaceAll('&amp;', '&'), next.url),
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: fields.toString(),
      },
    };
  }
  throw new Error('the sign-in did not reach the redirect URI');
}

function cookies(jar: Map<string, string>): string {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}
