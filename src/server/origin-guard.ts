/**
 * DNS-rebinding protection for an HTTP listener (the decision API and the proxy). In a
 * rebinding attack a browser page reaches a local port under the attacker's name: Origin
 * and Host both name the attacker's domain, so comparing them proves nothing. What does:
 * a Host that is one of the names the listener is known by, and an Origin that was
 * configured (or, where a local browser client is expected, a loopback origin).
 */
export interface OriginPolicy {
  /**
   * The Host values allowed (`name` matches any port, `name:port` that port only), or null
   * for any Host: a listener reached by names it cannot know, which then relies on API keys.
   */
  readonly allowedHosts: ReadonlySet<string> | null;
  /** Browser origins allowed (`scheme://host[:port]`); a request without Origin is not a browser's. */
  readonly allowedOrigins: ReadonlySet<string>;
  /** Whether any loopback origin is allowed too (a local browser client such as an MCP inspector). */
  readonly loopbackOrigins: boolean;
}

/** The names of the loopback interface as a Host header carries them. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** Why a request is refused, naming the header at fault, or null when it may go on. */
export interface OriginRefusal {
  readonly header: 'host' | 'origin';
  readonly message: string;
}

/** The refusal of a request by its Origin and Host headers, or null. */
export function originRefusal(
  policy: OriginPolicy,
  origin: string | undefined,
  host: string | undefined,
): OriginRefusal | null {
  if (policy.allowedHosts !== null) {
    if (host === undefined) return { header: 'host', message: 'the Host header is missing' };
    const value = host.toLowerCase();
    if (!policy.allowedHosts.has(value) && !policy.allowedHosts.has(hostname(value))) {
      return { header: 'host', message: `host '${host}' is not allowed` };
    }
  }
  if (origin === undefined || policy.allowedOrigins.has(origin)) return null;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    // `null` (a sandboxed frame, a file) lands here too.
    return { header: 'origin', message: 'the Origin header is malformed' };
  }
  if (policy.loopbackOrigins && LOOPBACK_HOSTS.includes(parsed.hostname)) return null;
  return { header: 'origin', message: `origin '${origin}' is not allowed` };
}

/** The name part of a Host header value (`[::1]:8080` → `[::1]`, `a:1` → `a`). */
function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/** Where the decision API listens and what `server.allowed_hosts` / `allowed_origins` add. */
export interface ApiListener {
  /** The listener is on a loopback address only. */
  readonly loopback: boolean;
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
}

/**
 * The decision API's policy: on loopback, loopback names and the configured hosts; elsewhere
 * the configured hosts, or any when none are (API keys are then required). No browser is an
 * expected caller, so only configured origins pass, loopback ones included.
 */
export function apiOriginPolicy(listener: ApiListener): OriginPolicy {
  const hosts = listener.allowedHosts.map((h) => h.toLowerCase());
  const pinned = listener.loopback || hosts.length > 0;
  return {
    allowedHosts: pinned ? new Set([...(listener.loopback ? LOOPBACK_HOSTS : []), ...hosts]) : null,
    allowedOrigins: new Set(listener.allowedOrigins),
    loopbackOrigins: false,
  };
}
