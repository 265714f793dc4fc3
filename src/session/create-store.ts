import type { SessionConfig } from '../config/session.ts';
import { MemorySessionStore } from './memory-store.ts';
import type { SessionStore } from './record.ts';
import { RedisSessionStore } from './redis-store.ts';

/** The session store `config.store` names, not yet started. */
export function createSessionStore(config: SessionConfig): SessionStore {
  const common = {
    sweepIntervalMs: config.sweep_interval_seconds * 1000,
    // A dead session stays answerable as expired/revoked for one idle period.
    retainMs: config.max_idle_seconds * 1000,
    maxPerOwner: config.max_per_principal,
    revocationRetainMs: config.revocation_retention_seconds * 1000,
  };
  if (config.store === 'memory') return new MemorySessionStore(common);
  return new RedisSessionStore({
    ...common,
    url: config.redis.url,
    keyPrefix: config.redis.key_prefix,
    commandTimeoutMs: config.redis.command_timeout_ms,
  });
}
