import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name');

/** The MCP enforcement proxy (`mcp-warden proxy`): a Streamable HTTP endpoint in front of one upstream. */
export const proxyConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8282),
  /** The path of the MCP endpoint the proxy serves. */
  path: z
    .string()
    .regex(/^\/[^?#]*$/, 'an absolute path')
    .default('/mcp'),
  /** The URL clients use to reach the proxy (behind a load balancer, its public origin). */
  public_url: httpUrl.optional(),
  /**
   * The protected resource: the audience tokens must be bound to and the `server` of
   * every decision. Defaults to `public_url` + `path`.
   */
  resource: z.string().min(1).optional(),
  /** Authorization servers named in the resource metadata (RFC 9728); default: the configured issuers. */
  authorization_servers: z.array(httpUrl).optional(),
  scopes_supported: z.array(z.string().min(1)).default([]),
  /** Browser origins allowed to call the endpoint; a request with any other Origin gets 403. */
  allowed_origins: z.array(z.string().min(1)).default([]),
  upstream: z
    .strictObject({
      url: httpUrl.optional(),
      /** Credentials for the upstream, set here: the client's token is never forwarded. */
      headers: z.record(headerName, z.string()).default({}),
      /**
       * Send the upstream, in this header, a short-lived identity assertion of each request's
       * verified principal, signed by the decision service (`identity.upstream_assertion`).
       * An allow without one is refused (`upstream_identity_unavailable`).
       */
      identity_header: headerName.optional(),
      /** Time to the upstream's response headers; a stream, once open, is not cut. */
      timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
      connections: z.number().int().min(1).max(1024).default(64),
      /**
       * The MCP eras the upstream speaks; a request in another era is refused before it
       * is decided. `auto` probes (`server/discover`, `initialize`) at the first request
       * and again after an upstream failure.
       */
      protocol: z.enum(['auto', 'legacy', 'modern', 'both']).default('auto'),
    })
    .refine(
      (v) =>
        v.identity_header === undefined ||
        !Object.keys(v.headers).some((h) => h.toLowerCase() === v.identity_header?.toLowerCase()),
      { message: 'identity_header must not be one of the configured headers', path: ['identity_header'] },
    )
    .default({ headers: {}, timeout_ms: 30_000, connections: 64, protocol: 'auto' }),
  /** Open streams (legacy GET streams, long POST answers) are cut when their session or token ends. */
  streams: z
    .strictObject({
      /** How often the authority of open streams is checked, in one batched call. */
      check_ms: z.number().int().min(50).max(60_000).default(500),
      /** How long a stream stays open while the warden cannot be asked; then it is cut. */
      unavailable_grace_ms: z.number().int().min(0).max(600_000).default(5_000),
    })
    .default({ check_ms: 500, unavailable_grace_ms: 5_000 }),
  /** A remote decision service; absent, the proxy decides in-process with this config's core. */
  warden: z
    .strictObject({
      url: httpUrl,
      /** The environment variable holding the API key (keys are not written in config files). */
      api_key_env: z.string().min(1).default('MCP_WARDEN_API_KEY'),
      timeout_ms: z.number().int().min(50).max(60_000).default(2_000),
    })
    .optional(),
  /** Ask the policy to widen a session's scope when a call needs a tool outside it (re-authorized, audited). */
  widen_on_demand: z.boolean().default(true),
  /** Reason codes answered as HTTP 403 `insufficient_scope` (the token lacks a right a new token could carry). */
  insufficient_scope_reasons: z
    .array(z.string().min(1))
    .default(['tool_not_permitted', 'destructive_requires_role', 'prompt_not_permitted', 'resource_not_permitted']),
  /** Most legacy sessions mapped to upstream sessions at once; the oldest are dropped beyond. */
  max_sessions: z.number().int().min(1).max(10_000_000).default(100_000),
  body_limit_bytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024),
});

export type ProxyConfig = z.output<typeof proxyConfigSchema>;
