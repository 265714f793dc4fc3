import type { ApprovalsConfig } from '../config/approvals.ts';
import type { SessionConfig } from '../config/session.ts';
import { MemoryApprovalStore } from './memory-store.ts';
import type { ApprovalStore } from './record.ts';
import { RedisApprovalStore } from './redis-store.ts';

/** The approval store beside the configured session store (memory, or the same Redis), not yet started. */
export function createApprovalStore(session: SessionConfig, approvals: ApprovalsConfig): ApprovalStore {
  const common = { maxGrantMs: approvals.max_grant_ttl_seconds * 1000, retainMs: approvals.retention_seconds * 1000 };
  if (session.store === 'memory') return new MemoryApprovalStore(common);
  return new RedisApprovalStore({
    ...common,
    url: session.redis.url,
    keyPrefix: session.redis.key_prefix,
    commandTimeoutMs: session.redis.command_timeout_ms,
  });
}
