/**
 * DNS-rebinding protection (Streamable HTTP "Security"): a web page of another origin
 * must not reach the endpoint through a browser. In a rebinding attack Origin and Host
 * both name the attacker's domain, so comparing them proves nothing: an Origin must be
 * configured, or be a loopback origin of a proxy that listens on loopback only; and a
 * loopback proxy also refuses a Host that is neither loopback nor its public host.
 */
export interface OriginPolicy {
  readonly allowedOrigins: ReadonlySet<string>;
  /** The proxy listens on a loopback address only. */
  readonly loopback: boolean;
  /** The host (name:port) of the public URL, allowed as Host behind a local reverse proxy. */
  readonly publicHost: string | undefined;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Why a request is refused (HTTP 403), or null when it may go on. */
export function originProblem(policy: OriginPolicy, origin: string | undefined, host: string | undefined): string | null {
  if (policy.loopback && host !== undefined && host !== policy.publicHost && !LOOPBACK_NAMES.has(hostname(host))) {
    return `host '${host}' is not allowed`;
  }
  if (origin === undefined || policy.allowedOrigins.has(origin)) return null;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return 'the Origin header is malformed';
  }
  if (policy.loopback && LOOPBACK_NAMES.has(parsed.hostname)) return null;
  return `origin '${origin}' is not allowed`;
}

/** The name part of a Host header value (`[::1]:8080` → `[::1]`, `a:1` → `a`). */
function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}
