import { createHash, randomBytes } from 'node:crypto';
import { isSafeKeyUrl } from '../../identity/key-url.ts';

/** The page's OIDC client (config `approvals.sign_in`), with its redirect URI. */
export interface SignInClient {
  readonly issuer: string;
  readonly clientId: string;
  /** A confidential client's secret (client_secret_basic); absent: a public client, PKCE only. */
  readonly clientSecret?: string | undefined;
  readonly scopes: readonly string[];
  /** `<page_url>/callback`. */
  readonly redirectUri: string;
  /** Timeout of one request to the issuer; 5 s when absent. */
  readonly timeoutMs?: number | undefined;
}

/** The sign-in could not be started or finished: the issuer is unreachable, or refused. No secret in the message. */
export class SignInFailed extends Error {
  override readonly name = 'SignInFailed';
}

/** An authorization request to send the browser to, and what its callback needs. */
export interface StartedSignIn {
  readonly url: string;
  readonly state: string;
  readonly verifier: string;
}

/** Authorization code with PKCE (S256) at one issuer, for one resource (RFC 8707) per sign-in. */
export interface SignIn {
  start(resource: string): Promise<StartedSignIn>;
  /** The access token the code is exchanged for. */
  exchange(code: string, verifier: string, resource: string): Promise<string>;
}

interface Metadata {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
}

/** How long discovered metadata is used before it is fetched again. */
const METADATA_MAX_AGE_MS = 60 * 60 * 1000;
/** Largest answer read from the issuer. */
const MAX_ANSWER_BYTES = 256 * 1024;

/** The sign-in of `client`; its issuer's metadata is discovered on first use and kept an hour. */
export function createSignIn(client: SignInClient, clock: () => number = Date.now): SignIn {
  const timeoutMs = client.timeoutMs ?? 5_000;
  let cached: { metadata: Promise<Metadata>; at: number } | undefined;
  const metadata = (): Promise<Metadata> => {
    if (cached === undefined || clock() - cached.at > METADATA_MAX_AGE_MS) {
      const pending = discover(client.issuer, timeoutMs);
      const entry = { metadata: pending, at: clock() };
      cached = entry;
      // A failure is not kept: the next sign-in tries again.
      pending.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.metadata;
  };
  return {
    async start(resource) {
      const { authorization_endpoint } = await metadata();
      const verifier = randomBytes(32).toString('base64url');
      const state = randomBytes(32).toString('base64url');
      const url = new URL(authorization_endpoint);
      const params = {
        response_type: 'code',
        client_id: client.clientId,
        redirect_uri: client.redirectUri,
        scope: client.scopes.join(' '),
        resource,
        state,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        // Every decision follows a fresh sign-in: what makes a `self` confirmation re-authenticated.
        prompt: 'login',
      };
      for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
      return { url: url.href, state, verifier };
    },
    async exchange(code, verifier, resource) {
      const { token_endpoint } = await metadata();
      const body = new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: client.redirectUri,
        resource,
        client_id: client.clientId,
      });
      const headers: Record<string, string> = {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      };
      if (client.clientSecret !== undefined) {
        // RFC 6749 §2.3.1: each part form-urlencoded before the Basic encoding.
        const pair = `${formEncode(client.clientId)}:${formEncode(client.clientSecret)}`;
        headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
      }
      const answer = await requestJson(token_endpoint, { method: 'POST', headers, body }, timeoutMs, 'token');
      const token = answer.access_token;
      if (typeof token !== 'string' || token.length === 0) {
        const error = typeof answer.error === 'string' && /^[\w.-]{1,64}$/.test(answer.error) ? answer.error : null;
        throw new SignInFailed(`the token endpoint issued no access token${error === null ? '' : ` (${error})`}`);
      }
      if (typeof answer.token_type === 'string' && answer.token_type.toLowerCase() !== 'bearer') {
        throw new SignInFailed(
          `the token endpoint issued a ${answer.token_type.slice(0, 32)} token, not a bearer token`,
        );
      }
      return token;
    },
  };
}

/** OpenID Connect discovery: the issuer's endpoints, which must be https (http on loopback only). */
async function discover(issuer: string, timeoutMs: number): Promise<Metadata> {
  const base = issuer.replace(/\/+$/, '');
  const answer = await requestJson(`${base}/.well-known/openid-configuration`, {}, timeoutMs, 'discovery');
  if (typeof answer.issuer !== 'string' || answer.issuer.replace(/\/+$/, '') !== base) {
    throw new SignInFailed('the discovery document names another issuer');
  }
  const endpoints = [answer.authorization_endpoint, answer.token_endpoint];
  if (!endpoints.every((e): e is string => typeof e === 'string' && isSafeKeyUrl(e))) {
    throw new SignInFailed('the discovery document has no https authorization and token endpoints');
  }
  const methods = answer.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes('S256')) {
    throw new SignInFailed('the issuer does not support PKCE with S256');
  }
  return { authorization_endpoint: endpoints[0]!, token_endpoint: endpoints[1]! };
}

/** A JSON object from the issuer; any failure is a {@link SignInFailed} naming only the step and the status. */
async function requestJson(
  url: string,
  init: RequestInit,
  timeoutMs: number,
  step: string,
): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    throw new SignInFailed(`the issuer could not be reached (${step})`);
  }
  const text = await res.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = text.length <= MAX_ANSWER_BYTES ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SignInFailed(`the issuer answered ${res.status} without a JSON object (${step})`);
  }
  const answer = parsed as Record<string, unknown>;
  if (!res.ok) {
    const error = typeof answer.error === 'string' && /^[\w.-]{1,64}$/.test(answer.error) ? `: ${answer.error}` : '';
    throw new SignInFailed(`the issuer answered ${res.status}${error} (${step})`);
  }
  return answer;
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}
