import { z } from 'zod';

const hostSchema = z
  .string()
  .regex(
    /^([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$/i,
    'a host name or address, with an optional :port',
  )
  .transform((v) => v.toLowerCase());

const originSchema = z.string().refine(
  (v) => {
    try {
      return new URL(v).origin === v;
    } catch {
      return false;
    }
  },
  { message: 'an origin: scheme://host[:port], without path or trailing slash' },
);

/** The HTTP listener. */
export const serverConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8181),
  body_limit_bytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(65_536),
  /** Dev mode: a locally generated issuer and `dev-token`; loopback only. */
  dev: z.boolean().default(false),
  dev_key_file: z.string().min(1).default('var/dev-issuer.jwk.json'),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Processes serving the one port (node:cluster); more than 1 needs a shared session store. */
  workers: z.number().int().min(1).max(64).default(1),
  /** Deepest nesting of a JSON body (objects and arrays), checked before validation: 400. */
  max_json_depth: z.number().int().min(4).max(1024).default(32),
  /** Most object keys in one JSON body, counted at every depth: 413. */
  max_json_keys: z.number().int().min(16).max(1_000_000).default(10_000),
  /** Longest time to receive a request and answer it; past it the answer is 503 `request_timeout`. */
  request_timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
  /** On SIGTERM/SIGINT: how long readiness reads 503 before the listener closes (for load balancers to notice). */
  shutdown_delay_ms: z.number().int().min(0).max(120_000).default(0),
  /** On SIGTERM/SIGINT: how long requests in flight may take to finish before their connections are cut. */
  shutdown_grace_ms: z.number().int().min(0).max(600_000).default(10_000),
  /** Requests per caller (API key id, else client address) per window; absent, no limit. */
  rate_limit: z
    .strictObject({
      max: z.number().int().min(1).max(10_000_000),
      time_window_ms: z.number().int().min(100).max(86_400_000).default(60_000),
    })
    .optional(),
  /**
   * Host header values the API answers (`name` for any port, or `name:port`), against DNS
   * rebinding. On a loopback listener the loopback names are always allowed and these are
   * added (a local reverse proxy's name); elsewhere, when set, only these are allowed.
   */
  allowed_hosts: z.array(hostSchema).max(64).default([]),
  /** Browser origins allowed to call the API; a request with any other Origin gets 403. */
  allowed_origins: z.array(originSchema).max(64).default([]),
});

/** The parsed `server` section. */
export type ServerConfig = z.output<typeof serverConfigSchema>;
