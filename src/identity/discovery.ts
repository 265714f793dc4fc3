import { JwksUnavailable } from '../errors.ts';
import { isSafeKeyUrl, KEY_URL_RULE } from './key-url.ts';

/**
 * Reads `jwks_uri` from the issuer's OpenID Connect discovery document, within a time
 * limit, and checks that the document names the same issuer (OIDC Discovery §4.3) and a
 * `jwks_uri` as safe to fetch keys from as a configured one would have to be.
 */
export async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let document: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    document = (await response.json()) as typeof document;
  } catch (err) {
    throw new JwksUnavailable(`OIDC discovery failed for ${issuer}: ${(err as Error).message}`);
  }
  if (document.issuer !== issuer) throw new JwksUnavailable(`the discovery document of ${issuer} names another issuer`);
  if (typeof document.jwks_uri !== 'string')
    throw new JwksUnavailable(`the discovery document of ${issuer} has no jwks_uri`);
  if (!isSafeKeyUrl(document.jwks_uri)) {
    throw new JwksUnavailable(`the jwks_uri in the discovery document of ${issuer} ${KEY_URL_RULE}`);
  }
  return document.jwks_uri;
}
