/**
 * The proxy as an OAuth 2.0 protected resource (MCP authorization): its metadata
 * document (RFC 9728) and the `WWW-Authenticate` challenges of RFC 6750 that point to it.
 */

export interface ResourceIdentity {
  /** The canonical URI of the protected MCP endpoint: the tokens' audience. */
  readonly resource: string;
  readonly authorizationServers: readonly string[];
  readonly scopesSupported: readonly string[];
  /** Absolute URL of the metadata document. */
  readonly metadataUrl: string;
}

/** The well-known paths the metadata is served at: the RFC 9728 path-inserted form, and the bare one. */
export function metadataPaths(endpointPath: string): string[] {
  const base = '/.well-known/oauth-protected-resource';
  return endpointPath === '/' ? [base] : [`${base}${endpointPath}`, base];
}

/** The RFC 9728 document. */
export function resourceMetadata(identity: ResourceIdentity): Record<string, unknown> {
  return {
    resource: identity.resource,
    authorization_servers: identity.authorizationServers,
    bearer_methods_supported: ['header'],
    ...(identity.scopesSupported.length > 0 ? { scopes_supported: identity.scopesSupported } : {}),
    resource_name: 'MCP server protected by mcp-warden',
  };
}

/**
 * A challenge for a missing token (no error code, per RFC 6750 §3.1), an invalid one, or
 * one that lacks scopes. `scope` names the scopes the request needs (step-up), where known.
 */
export function bearerChallenge(
  identity: ResourceIdentity,
  error?: 'invalid_token' | 'insufficient_scope',
  description?: string,
  scopes: readonly string[] = [],
): string {
  const params = [`resource_metadata="${identity.metadataUrl}"`];
  if (error !== undefined) params.push(`error="${error}"`);
  if (description !== undefined) params.push(`error_description="${quoteSafe(description)}"`);
  if (scopes.length > 0) params.push(`scope="${quoteSafe(scopes.join(' '))}"`);
  return `Bearer ${params.join(', ')}`;
}

function quoteSafe(text: string): string {
  // RFC 6750: error_description is %x20-21 / %x23-5B / %x5D-7E.
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
}

/** The bearer token of an `Authorization` header, or undefined (only the header method is accepted). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}
