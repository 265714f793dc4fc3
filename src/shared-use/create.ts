import type { SessionConfig } from '../config/session.ts';
import { MemorySharedUse } from './memory.ts';
import { RedisSharedUse } from './redis.ts';
import type { SharedUseConfig, SharedUseTracker } from './tracker.ts';

/** The shared-use tracker beside the configured session store (memory, or the same Redis), not yet started. */
export function createSharedUse(config: SharedUseConfig, session: SessionConfig): SharedUseTracker {
  if (session.store === 'memory') return new MemorySharedUse(config);
  return new RedisSharedUse(config, {
    url: session.redis.url,
    keyPrefix: session.redis.key_prefix,
    commandTimeoutMs: session.redis.command_timeout_ms,
  });
}
