import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { IssuerConfig } from '../config/identity.ts';
import { AudienceMismatch, IssuerUntrusted, TokenExpired, TokenInvalid, TokenMissing } from '../errors.ts';
import { principalFromClaims, type Principal } from './principal.ts';
import { TokenCache } from './token-cache.ts';

/** Verifies bearer tokens for one MCP server audience. */
export interface TokenVerifier {
  /** Resolves to the principal, or rejects with a coded identity error. */
  verify(token: string | undefined, audience: string): Promise<Principal>;
}

export interface VerifierOptions {
  issuers: readonly IssuerConfig[];
  cacheSize: number;
  maxTokenBytes: number;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

interface TrustedIssuer {
  readonly config: IssuerConfig;
  readonly keys: ReturnType<typeof createLocalJWKSet>;
}

/** Builds a verifier over locally held key sets (inline JWKS or a JWKS file). */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const now = options.now ?? Date.now;
  const issuers = new Map<string, TrustedIssuer>();
  for (const config of options.issuers) {
    if (issuers.has(config.issuer)) throw new TypeError(`issuer configured twice: ${config.issuer}`);
    issuers.set(config.issuer, { config, keys: createLocalJWKSet(readKeySet(config)) });
  }
  const cache = new TokenCache(options.cacheSize);

  return {
    async verify(token, audience) {
      if (token === undefined || token.length === 0) throw new TokenMissing('no bearer token was presented');
      if (token.length > options.maxTokenBytes) {
        throw new TokenInvalid(`token is longer than ${options.maxTokenBytes} bytes`);
      }
      const key = createHash('sha256').update(token).digest('base64url');
      const nowMs = now();
      const hit = cache.get(key, nowMs / 1000);
      if (hit !== undefined) {
        if (!audienceIncludes(hit.payload, audience)) throw audienceError(audience);
        return hit.principal;
      }
      const trusted = issuers.get(unverifiedIssuer(token));
      if (trusted === undefined) throw new IssuerUntrusted('the token issuer is not trusted');
      const { config } = trusted;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, trusted.keys, {
          issuer: config.issuer,
          audience,
          algorithms: config.algorithms,
          clockTolerance: config.clock_tolerance_seconds,
          requiredClaims: ['exp', 'sub'],
          currentDate: new Date(nowMs),
        }));
      } catch (err) {
        throw mapJoseError(err, audience);
      }
      const principal = principalFromClaims(payload, config.roles_claim);
      cache.set(key, { payload, principal, deadline: (payload.exp as number) + config.clock_tolerance_seconds });
      return principal;
    },
  };
}

function readKeySet(config: IssuerConfig): JSONWebKeySet {
  if (config.jwks) return config.jwks as JSONWebKeySet;
  return JSON.parse(readFileSync(config.jwks_file as string, 'utf8')) as JSONWebKeySet;
}

function unverifiedIssuer(token: string): string {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new TokenInvalid('the token is not a well-formed JWT');
  }
  if (typeof claims.iss !== 'string') throw new TokenInvalid('the token has no iss claim');
  return claims.iss;
}

function audienceIncludes(payload: JWTPayload, audience: string): boolean {
  return Array.isArray(payload.aud) ? payload.aud.includes(audience) : payload.aud === audience;
}

function audienceError(audience: string): AudienceMismatch {
  return new AudienceMismatch(`the token was not issued for ${audience}`);
}

function mapJoseError(err: unknown, audience: string): Error {
  if (err instanceof joseErrors.JWTExpired) return new TokenExpired('the token has expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud') return audienceError(audience);
  if (err instanceof joseErrors.JOSEError) return new TokenInvalid(`token rejected: ${err.message}`);
  return new TokenInvalid('token rejected');
}
