import { LOOPBACK_HOSTS, originRefusal } from '../server/origin-guard.ts';

/**
 * DNS-rebinding protection (Streamable HTTP "Security") of the proxy, in its own terms:
 * configured origins, and on a loopback proxy loopback origins (local browser clients) and
 * a Host that is loopback or the public host. The rule itself is `server/origin-guard.ts`,
 * shared with the decision API.
 */
export interface OriginPolicy {
  readonly allowedOrigins: ReadonlySet<string>;
  /** The proxy listens on a loopback address only. */
  readonly loopback: boolean;
  /** The host (name:port) of the public URL, allowed as Host behind a local reverse proxy. */
  readonly publicHost: string | undefined;
}

/** Why a request is refused (HTTP 403), or null when it may go on. */
export function originProblem(
  policy: OriginPolicy,
  origin: string | undefined,
  host: string | undefined,
): string | null {
  const publicHost = policy.publicHost === undefined ? [] : [policy.publicHost.toLowerCase()];
  const refusal = originRefusal(
    {
      // Behind a load balancer the proxy is reached by names it cannot know.
      allowedHosts: policy.loopback ? new Set([...LOOPBACK_HOSTS, ...publicHost]) : null,
      allowedOrigins: policy.allowedOrigins,
      loopbackOrigins: policy.loopback,
    },
    origin,
    host,
  );
  return refusal === null ? null : refusal.message;
}
