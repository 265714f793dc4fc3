import { createSecretKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import type { KeySourceConfig } from '../config/identity.ts';
import { JwksUnavailable, KeyUnknown } from '../errors.ts';
import { discoverJwksUri } from './discovery.ts';

/** The keys of one issuer or trust domain. */
export interface KeySource {
  /** A jose key resolver; rejects with `key_unknown` or `jwks_unavailable`. */
  readonly getKey: JWTVerifyGetKey;
  /** Whether the key `kid` is still published (false once rotated out of the JWKS). */
  publishes(kid: string | undefined): boolean;
}

/**
 * Builds the key source a config names: an inline JWKS, a JWKS file, a remote JWKS URL
 * (cached, with a cooldown, refetched on an unknown `kid` to follow rotation), OIDC
 * discovery from the issuer, or an HMAC secret.
 */
export function createKeySource(config: KeySourceConfig): KeySource {
  if (config.hmac_secret !== undefined) {
    const secret = createSecretKey(Buffer.from(config.hmac_secret, 'utf8'));
    return { getKey: async () => secret, publishes: () => true };
  }
  if (config.jwks !== undefined || config.jwks_file !== undefined) {
    const jwks = (config.jwks ?? JSON.parse(readFileSync(config.jwks_file as string, 'utf8'))) as JSONWebKeySet;
    const kids = new Set(jwks.keys.map((k) => k.kid));
    return { getKey: withCodedErrors(createLocalJWKSet(jwks)), publishes: (kid) => kids.has(kid) };
  }
  return remoteKeySource(config);
}

function remoteKeySource(config: KeySourceConfig): KeySource {
  // The kids last fetched; undefined until the first fetch.
  let kids: Set<string | undefined> | undefined;
  const trackingFetch = async (url: string, init: RequestInit): Promise<Response> => {
    const response = await fetch(url, init);
    if (response.ok) {
      const body = (await response.clone().json().catch(() => undefined)) as JSONWebKeySet | undefined;
      if (Array.isArray(body?.keys)) kids = new Set(body.keys.map((k) => k.kid));
    }
    return response;
  };
  const makeSet = (uri: string) =>
    createRemoteJWKSet(new URL(uri), {
      timeoutDuration: config.jwks_timeout_ms,
      cooldownDuration: config.jwks_cooldown_seconds * 1000,
      cacheMaxAge: config.jwks_max_age_seconds * 1000,
      [customFetch]: trackingFetch,
    });
  let resolver: Promise<JWTVerifyGetKey> | undefined;
  const resolve = (): Promise<JWTVerifyGetKey> => {
    if (config.jwks_uri !== undefined) return (resolver ??= Promise.resolve(makeSet(config.jwks_uri)));
    resolver ??= discoverJwksUri(config.issuer as string, config.jwks_timeout_ms).then(makeSet, (err: unknown) => {
      resolver = undefined; // the next request tries discovery again
      throw err;
    });
    return resolver;
  };
  return {
    getKey: withCodedErrors(async (header, token) => (await resolve())(header, token)),
    publishes: (kid) => kids === undefined || kids.has(kid),
  };
}

/** Maps key-resolution failures to coded errors; anything unexpected means the JWKS is unavailable. */
function withCodedErrors(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await getKey(header, token);
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) {
        throw new KeyUnknown('no published key matches the token');
      }
      if (err instanceof JwksUnavailable) throw err;
      throw new JwksUnavailable(
        err instanceof joseErrors.JWKSTimeout ? 'the JWKS endpoint timed out' : 'the JWKS could not be fetched',
      );
    }
  };
}
