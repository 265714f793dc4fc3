import { Redis } from 'ioredis';
import { SessionStoreUnavailable } from '../errors.ts';

/**
 * A Redis connection that fails closed, for the stores kept in Redis (sessions, approvals):
 * no offline queue, a command timeout, no resending of unanswered commands, and
 * reconnecting forever in the background so that the same instance recovers. Not yet
 * connected (`lazyConnect`).
 */
export function failClosedRedis(url: string, commandTimeoutMs: number): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    // Fail now rather than queue: a decision waiting on a dead Redis must deny in time.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A call that already failed must not take effect later, after a reconnect.
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs * 4, 1000),
    // Reconnect forever, at most 2 s apart, so the service heals by itself.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  // Failures reach callers through rejected commands and `status()`; without a listener
  // ioredis would print every reconnection error.
  redis.on('error', () => {});
  return redis;
}

/**
 * A Redis failure as `session_store_unavailable`, whose message says what kind of failure
 * it was, and nothing of the data.
 */
export function storeUnavailable(err: unknown, store: string): SessionStoreUnavailable {
  const message = err instanceof Error ? err.message : '';
  const what = /timed out/i.test(message)
    ? 'did not answer in time'
    : /closed|writeable|ECONNREFUSED|ECONNRESET|MaxRetriesPerRequest/i.test(message)
      ? 'is not reachable'
      : 'failed';
  return new SessionStoreUnavailable(`the ${store} ${what}`, { cause: err });
}
