import { hash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { IssuerConfig, TrustDomainConfig } from '../config/identity.ts';
import {
  AgentIdentityInvalid,
  AudienceMismatch,
  IdJagNotAccessToken,
  IssuerUntrusted,
  IssuerUntrustedForServer,
  ServerUnknown,
  TokenInvalid,
  TokenIssuedInFuture,
  TokenMissing,
  TokenTooLarge,
  TrustDomainUntrusted,
  WardenError,
} from '../errors.ts';
import { delegate } from './delegation.ts';
import { fromJoseError } from './jose-errors.ts';
import { createKeySource, type KeySource } from './key-source.ts';
import { principalFromClaims, principalFromSvid, type Principal } from './principal.ts';
import { parseSpiffeId } from './spiffe.ts';
import { TokenCache } from './token-cache.ts';

/** What a request presents to say who it acts as: the bearer token, and the agent's own identity. */
export interface Credentials {
  readonly token?: string | undefined;
  /** A JWT-SVID of the agent presenting the token (docs/identity.md, "Delegation"). */
  readonly agent_token?: string | undefined;
}

/** Verifies bearer tokens for one MCP server audience. */
export interface TokenVerifier {
  /** Resolves to the token's principal, or rejects with a coded identity error. */
  verify(token: string | undefined, audience: string): Promise<Principal>;
  /**
   * The principal a request acts as: its token's, with the agent identity (verified like
   * any JWT-SVID, for the same audience) joined to the actor chain, the chain's depth and
   * `may_act` checked. Every check of a request's identity goes through here.
   */
  identify(credentials: Credentials, audience: string): Promise<Principal>;
  /**
   * The second half of {@link identify}: `principal` (the token's, verified) with the agent
   * identity joined and the chain checked. For a caller that records the token's principal
   * even when the chain is refused.
   */
  delegated(principal: Principal, agentToken: string | undefined, audience: string): Promise<Principal>;
}

export interface VerifierOptions {
  issuers: readonly IssuerConfig[];
  trustDomains?: readonly TrustDomainConfig[];
  /** When non-empty, the only audiences (MCP servers) accepted. */
  servers?: readonly string[];
  cacheSize: number;
  maxTokenBytes: number;
  /** The longest actor chain accepted (`identity.delegation.max_depth`). */
  maxActorDepth?: number;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/** How one issuer or trust domain is checked. */
interface Trust {
  readonly keys: KeySource;
  readonly options: Omit<JWTVerifyOptions, 'audience' | 'currentDate'>;
  readonly tolerance: number;
  /** The servers its tokens are accepted for; null: any. */
  readonly servers: ReadonlySet<string> | null;
  readonly maxAgeSeconds: number | undefined;
  toPrincipal(claims: JWTPayload): Principal;
}

/**
 * Builds a verifier. A token is routed by its (unverified) `iss` to a configured issuer,
 * or, when its `sub` is a SPIFFE ID, to its trust domain; an issuer not trusted for the
 * server is refused before any key is fetched. Then jose verifies signature, algorithm,
 * issuer, audience, expiry, `typ`, token age and required claims, and an `iat` in the
 * future is refused. Verified results are cached by the token's sha256 until `exp` (or
 * the end of their allowed age), re-checked for server and audience, and dropped as soon
 * as the key that verified them leaves its JWKS.
 */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const now = options.now ?? Date.now;
  const servers = new Set(options.servers ?? []);
  const issuers = new Map<string, Trust>();
  for (const config of options.issuers) {
    if (issuers.has(config.issuer)) throw new TypeError(`issuer configured twice: ${config.issuer}`);
    issuers.set(config.issuer, issuerTrust(config, now));
  }
  const domains = new Map<string, Trust>();
  for (const config of options.trustDomains ?? []) {
    if (domains.has(config.trust_domain)) throw new TypeError(`trust domain configured twice: ${config.trust_domain}`);
    domains.set(config.trust_domain, svidTrust(config, now));
  }
  const cache = new TokenCache(options.cacheSize);
  const maxActorDepth = options.maxActorDepth ?? DEFAULT_MAX_ACTOR_DEPTH;

  const verifier: TokenVerifier = {
    async identify(credentials, audience) {
      return verifier.delegated(await verifier.verify(credentials.token, audience), credentials.agent_token, audience);
    },
    async delegated(principal, agentToken, audience) {
      const agent = agentToken === undefined ? null : await agentOf(agentToken, audience);
      return delegate(principal, agent, maxActorDepth);
    },
    async verify(token, audience) {
      if (token === undefined || token.length === 0) throw new TokenMissing('no bearer token was presented');
      if (token.length > options.maxTokenBytes)
        throw new TokenTooLarge(`the token is longer than ${options.maxTokenBytes} bytes`);
      if (servers.size > 0 && !servers.has(audience))
        throw new ServerUnknown(`this service does not decide for ${audience}`);
      const key = hash('sha256', token, 'base64url');
      const nowMs = now();
      const hit = cache.get(key, nowMs / 1000);
      if (hit !== undefined) {
        if (hit.keys.publishes(hit.kid)) {
          assertTrustedFor(hit.servers, audience);
          if (!audienceIncludes(hit.payload, audience))
            throw new AudienceMismatch(`the token was not issued for ${audience}`);
          return hit.principal;
        }
        cache.delete(key);
      }
      const { trust, kid } = route(token, issuers, domains);
      assertTrustedFor(trust.servers, audience);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, trust.keys.getKey, {
          ...trust.options,
          audience,
          currentDate: new Date(nowMs),
        }));
      } catch (err) {
        throw fromJoseError(err, audience);
      }
      assertIssuedInPast(payload, nowMs / 1000 + trust.tolerance);
      const principal = trust.toPrincipal(payload);
      cache.set(key, {
        payload,
        principal,
        kid,
        keys: trust.keys,
        servers: trust.servers,
        deadline: deadlineOf(payload, trust),
      });
      return principal;
    },
  };

  /** The agent's JWT-SVID, verified as any token is; its failure is named as the agent's. */
  async function agentOf(token: string, audience: string): Promise<Principal> {
    try {
      return await verifier.verify(token, audience);
    } catch (err) {
      if (!(err instanceof WardenError)) throw err;
      throw new AgentIdentityInvalid(`the agent identity was refused (${err.code}): ${err.message}`, { cause: err });
    }
  }
  return verifier;
}

/** The default of `identity.delegation.max_depth`. */
export const DEFAULT_MAX_ACTOR_DEPTH = 3;

function issuerTrust(config: IssuerConfig, now: () => number): Trust {
  const mapping = {
    rolesClaim: config.roles_claim,
    policyClaims: config.policy_claims,
    trustedRoles: config.roles,
    trustedScopes: config.scopes,
  };
  return {
    keys: createKeySource(config, now),
    options: {
      issuer: config.issuer,
      algorithms: config.algorithms,
      clockTolerance: config.clock_tolerance_seconds,
      requiredClaims: ['exp', 'iat', 'sub', ...config.required_claims],
      ...(config.require_typ === null ? {} : { typ: config.require_typ }),
      ...(config.max_token_age_seconds === undefined ? {} : { maxTokenAge: config.max_token_age_seconds }),
    },
    tolerance: config.clock_tolerance_seconds,
    servers: config.servers === undefined ? null : new Set(config.servers),
    maxAgeSeconds: config.max_token_age_seconds,
    toPrincipal: (claims) => principalFromClaims(claims, mapping),
  };
}

function svidTrust(config: TrustDomainConfig, now: () => number): Trust {
  return {
    keys: createKeySource(config, now),
    options: {
      algorithms: [...config.algorithms],
      clockTolerance: config.clock_tolerance_seconds,
      requiredClaims: ['exp', 'sub', 'aud'],
    },
    tolerance: config.clock_tolerance_seconds,
    servers: null,
    maxAgeSeconds: undefined,
    toPrincipal: (claims) => principalFromSvid(claims, config.trust_domain),
  };
}

/** The `typ` of an Identity Assertion JWT Authorization Grant, with and without its media-type prefix. */
const ID_JAG_TYPES = new Set(['oauth-id-jag+jwt', 'application/oauth-id-jag+jwt']);

/** Picks the issuer or trust domain from the unverified token; verification follows. */
function route(
  token: string,
  issuers: Map<string, Trust>,
  domains: Map<string, Trust>,
): { trust: Trust; kid: string | undefined } {
  let claims: JWTPayload;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    claims = decodeJwt(token);
    header = decodeProtectedHeader(token);
  } catch {
    throw new TokenInvalid('the token is not a well-formed JWT');
  }
  if (typeof header.typ === 'string' && ID_JAG_TYPES.has(header.typ.toLowerCase())) {
    throw new IdJagNotAccessToken(
      'the token is an ID-JAG (Identity Assertion JWT Authorization Grant): a grant to exchange at the ' +
        "MCP server's authorization server for an access token, not an access token",
    );
  }
  const { kid } = header;
  const issuer = typeof claims.iss === 'string' ? issuers.get(claims.iss) : undefined;
  if (issuer !== undefined) return { trust: issuer, kid };
  const spiffe = parseSpiffeId(claims.sub);
  if (spiffe !== null) {
    const domain = domains.get(spiffe.trustDomain);
    if (domain === undefined) throw new TrustDomainUntrusted(`the trust domain ${spiffe.trustDomain} is not trusted`);
    return { trust: domain, kid };
  }
  throw new IssuerUntrusted('the token issuer is not trusted');
}

function assertTrustedFor(servers: ReadonlySet<string> | null, audience: string): void {
  if (servers !== null && !servers.has(audience)) {
    throw new IssuerUntrustedForServer(`the token issuer is not trusted for ${audience}`);
  }
}

/**
 * jose checks that `iat` is not in the future only along with a maximum age; a token
 * "issued" an hour from now is a forged or misissued one whatever its issuer's config.
 */
function assertIssuedInPast(payload: JWTPayload, latest: number): void {
  if (typeof payload.iat === 'number' && payload.iat > latest) {
    throw new TokenIssuedInFuture('the token claims to be issued in the future (iat)');
  }
}

/** Epoch seconds until which a verified token may be served from the cache. */
function deadlineOf(payload: JWTPayload, trust: Trust): number {
  const exp = payload.exp as number;
  const end = trust.maxAgeSeconds === undefined ? exp : Math.min(exp, (payload.iat as number) + trust.maxAgeSeconds);
  return end + trust.tolerance;
}

function audienceIncludes(payload: JWTPayload, audience: string): boolean {
  return Array.isArray(payload.aud) ? payload.aud.includes(audience) : payload.aud === audience;
}
