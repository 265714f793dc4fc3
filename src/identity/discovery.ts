import { JwksUnavailable } from '../errors.ts';

/**
 * Reads `jwks_uri` from the issuer's OpenID Connect discovery document, within a time
 * limit, and checks that the document names the same issuer (OIDC Discovery §4.3).
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
  if (typeof document.jwks_uri !== 'string' || !/^https?:\/\//.test(document.jwks_uri)) {
    throw new JwksUnavailable(`the discovery document of ${issuer} has no valid jwks_uri`);
  }
  return document.jwks_uri;
}
