import { createSecretKey } from 'node:crypto';
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
import { readJwksFile } from '../keys/jwks-file.ts';
import { discoverJwksUri } from './discovery.ts';
import { FetchCooldown } from './fetch-cooldown.ts';

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
 * discovery from the issuer, or an HMAC secret. A failed remote fetch is not retried
 * before `jwks_cooldown_seconds` (by `now`, epoch milliseconds).
 */
export function createKeySource(config: KeySourceConfig, now: () => number = Date.now): KeySource {
  if (config.hmac_secret !== undefined) {
    const secret = createSecretKey(Buffer.from(config.hmac_secret, 'utf8'));
    return { getKey: async () => secret, publishes: () => true };
  }
  if (config.jwks !== undefined || config.jwks_file !== undefined) {
    const jwks =
      (config.jwks as JSONWebKeySet | undefined) ?? readJwksFile(config.jwks_file as string, fileKeyOf(config));
    const kids = new Set(jwks.keys.map((k) => k.kid));
    return { getKey: withCodedErrors(createLocalJWKSet(jwks)), publishes: (kid) => kids.has(kid) };
  }
  return remoteKeySource(config, now);
}

function remoteKeySource(config: KeySourceConfig, now: () => number): KeySource {
  // The kids last fetched; undefined until the first fetch.
  let kids: Set<string | undefined> | undefined;
  // One failed fetch (JWKS or discovery) holds back the next ones of this source.
  const cooldown = new FetchCooldown(config.jwks_cooldown_seconds, now);
  const trackingFetch = async (url: string, init: RequestInit): Promise<Response> => {
    cooldown.check();
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      cooldown.failed('the JWKS could not be fetched');
      throw err;
    }
    const body = response.ok
      ? ((await response
          .clone()
          .json()
          .catch(() => undefined)) as JSONWebKeySet | undefined)
      : undefined;
    if (Array.isArray(body?.keys)) {
      kids = new Set(body.keys.map((k) => k.kid));
      cooldown.succeeded();
    } else {
      cooldown.failed(`the JWKS endpoint answered ${response.status} without a key set`);
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
    if (config.jwks_uri !== undefined) {
      resolver ??= Promise.resolve(makeSet(config.jwks_uri));
    } else if (resolver === undefined) {
      cooldown.check();
      resolver = discoverJwksUri(config.issuer as string, config.jwks_timeout_ms).then(
        (uri) => {
          cooldown.succeeded();
          return makeSet(uri);
        },
        (err: unknown) => {
          resolver = undefined; // tried again once the cooldown has passed
          cooldown.failed((err as Error).message);
          throw err;
        },
      );
    }
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

/** How config names the `jwks_file` of a key source, for an error about it. */
function fileKeyOf(config: KeySourceConfig): string {
  const domain = (config as { trust_domain?: string }).trust_domain;
  if (domain !== undefined) return `identity.spiffe.trust_domains[${domain}].jwks_file`;
  return `identity.issuers[${config.issuer ?? '?'}].jwks_file`;
}
