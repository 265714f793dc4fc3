import { SignJWT, type JWK } from 'jose';
import { UpstreamIdentityUnavailable } from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import type { UpstreamAssertionConfig } from '../config/identity.ts';
import { loadOrCreateSigningKey, type SigningKey } from '../keys/key-file.ts';

/** The JWT `typ` of an identity assertion (RFC 8725 §3.11): never mistaken for an access token. */
export const UPSTREAM_IDENTITY_TYP = 'mcp-warden-identity+jwt';

/** What signs identity assertions for upstreams (`identity.upstream_assertion`). */
export interface UpstreamIdentitySigner {
  readonly key: SigningKey;
  /** The assertion's `iss`. */
  readonly issuer: string;
  readonly ttlSeconds: number;
  /** The audience of the assertions for each MCP server (the server's upstream); no entry, no assertion. */
  readonly audiences: Readonly<Record<string, string>>;
}

/** Who an allowed request was decided for: what the assertion states. */
export interface AssertedRequest {
  readonly principal: Principal;
  readonly server: string;
  readonly decisionId: string;
  /** Epoch milliseconds. */
  readonly now: number;
}

/**
 * Signs a short-lived assertion of the verified principal of an allowed request, for the
 * upstream behind the server: so the upstream can bind its own state to the user without
 * ever seeing the client's token. `jti` is the decision id (the audit record of the
 * decision names it); `exp` never outlives the client's token when its `exp` is known.
 * Throws `upstream_identity_unavailable` when no assertion is configured for the server.
 */
export async function signUpstreamIdentity(
  signer: UpstreamIdentitySigner | undefined,
  request: AssertedRequest,
): Promise<string> {
  const audience = signer?.audiences[request.server];
  if (signer === undefined || audience === undefined) {
    throw new UpstreamIdentityUnavailable(`this service signs no identity assertion for ${request.server}`);
  }
  const { principal } = request;
  const iat = Math.floor(request.now / 1000);
  const tokenExp = principal.claims.exp;
  const exp = Math.min(iat + signer.ttlSeconds, typeof tokenExp === 'number' ? tokenExp : Number.POSITIVE_INFINITY);
  return new SignJWT({
    client_id: principal.client_id ?? undefined,
    mcp_warden: {
      token_iss: principal.iss,
      kind: principal.kind,
      server: request.server,
      ...(principal.spiffe_id === null ? {} : { spiffe_id: principal.spiffe_id }),
    },
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: signer.key.kid, typ: UPSTREAM_IDENTITY_TYP })
    .setIssuer(signer.issuer)
    .setSubject(principal.sub)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(request.decisionId)
    .sign(signer.key.key);
}

/** Where the service (and an in-process proxy) publishes the assertions' public keys. */
export const UPSTREAM_IDENTITY_JWKS_PATH = '/v1/upstream-identity/jwks';

/** The signer of `identity.upstream_assertion`, its key loaded (or created) from `key_file`. */
export async function loadUpstreamIdentitySigner(
  config: UpstreamAssertionConfig | undefined,
): Promise<UpstreamIdentitySigner | undefined> {
  if (config === undefined) return undefined;
  return {
    key: await loadOrCreateSigningKey(config.key_file, 'upstream'),
    issuer: config.issuer,
    ttlSeconds: config.ttl_seconds,
    audiences: config.audiences,
  };
}

/** The public keys an upstream verifies assertions with (served as a JWKS). */
export function upstreamIdentityJwks(signer: UpstreamIdentitySigner | undefined): { keys: JWK[] } {
  if (signer === undefined) return { keys: [] };
  return { keys: [{ ...signer.key.publicJwk, use: 'sig', alg: 'EdDSA' }] };
}
