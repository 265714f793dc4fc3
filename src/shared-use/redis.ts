import type { Redis } from 'ioredis';
import type { Principal } from '../identity/principal.ts';
import { failClosedRedis, storeUnavailable } from '../session/redis-connection.ts';
import {
  DIMENSIONS,
  principalKey,
  valuesOf,
  type SharedUse,
  type SharedUseConfig,
  type SharedUseTracker,
} from './tracker.ts';

/**
 * One use, counted atomically. KEYS: the sorted sets of clients, workloads and chains
 * (member: the value's digest, score: when last seen), and the flag that the principal is
 * shared. ARGV: now, since (uses at or before it no longer count), the window in ms, the
 * three thresholds, the three value counts, then the values. Each set drops what the
 * window no longer covers, adds this use's values, keeps its `threshold` most recent, and
 * expires with the window; the flag is set (NX) on the crossing only. Returns the three
 * counts, whether shared, and whether this use made it so.
 */
const OBSERVE = `
local now, since, window = ARGV[1], ARGV[2], tonumber(ARGV[3])
local pos, counts, shared = 10, {}, false
for d = 1, 3 do
  local threshold, n = tonumber(ARGV[3 + d]), tonumber(ARGV[6 + d])
  redis.call('ZREMRANGEBYSCORE', KEYS[d], '-inf', since)
  if threshold > 0 then
    for i = 0, n - 1 do redis.call('ZADD', KEYS[d], now, ARGV[pos + i]) end
    redis.call('ZREMRANGEBYRANK', KEYS[d], 0, -(threshold + 1))
    redis.call('PEXPIRE', KEYS[d], window)
  end
  pos = pos + n
  counts[d] = redis.call('ZCARD', KEYS[d])
  if threshold > 0 and counts[d] >= threshold then shared = true end
end
local became = 0
if shared then
  if redis.call('SET', KEYS[4], '1', 'PX', window, 'NX') then became = 1 else redis.call('PEXPIRE', KEYS[4], window) end
else
  redis.call('DEL', KEYS[4])
end
return {counts[1], counts[2], counts[3], shared and 1 or 0, became}
`;

type Observe = (...args: (string | number)[]) => Promise<[number, number, number, number, number]>;

/**
 * Shared-use counts in the Redis of the session store, so every replica counts every
 * use: one script per decision, under `<prefix>u:<sha256(iss, sub)>:…`, each key expiring
 * with the window. On Redis Cluster a hash-tag prefix (`{mcpw}:`) keeps them in one slot.
 */
export class RedisSharedUse implements SharedUseTracker {
  readonly #config: SharedUseConfig;
  readonly #prefix: string;
  readonly #redis: Redis;
  readonly #observe: Observe;

  constructor(config: SharedUseConfig, options: { url: string; keyPrefix: string; commandTimeoutMs: number }) {
    this.#config = config;
    this.#prefix = options.keyPrefix;
    this.#redis = failClosedRedis(options.url, options.commandTimeoutMs);
    this.#redis.defineCommand('mcpwSharedUse', { numberOfKeys: 4, lua: OBSERVE });
    this.#observe = (this.#redis as unknown as { mcpwSharedUse: Observe }).mcpwSharedUse.bind(this.#redis);
  }

  async observe(principal: Principal, now: number): Promise<SharedUse> {
    const base = `${this.#prefix}u:${principalKey(principal)}:`;
    const values = valuesOf(principal);
    const windowMs = this.#config.window_seconds * 1000;
    let answer: [number, number, number, number, number];
    try {
      answer = await this.#observe(
        `${base}c`,
        `${base}w`,
        `${base}x`,
        `${base}s`,
        now,
        now - windowMs,
        windowMs,
        ...DIMENSIONS.map((d) => this.#config[d]),
        ...DIMENSIONS.map((d) => values[d].length),
        ...DIMENSIONS.flatMap((d) => values[d]),
      );
    } catch (err) {
      throw storeUnavailable(err, 'session store (shared use)');
    }
    const [clients, workloads, chains, shared, became] = answer;
    return {
      shared: shared === 1,
      clients,
      workloads,
      chains,
      window_seconds: this.#config.window_seconds,
      became_shared: became === 1,
    };
  }

  /** Connects; rejects with `session_store_unavailable` when Redis cannot be reached. */
  async start(): Promise<void> {
    try {
      await this.#redis.connect();
    } catch (err) {
      this.#redis.disconnect();
      throw storeUnavailable(err, 'session store (shared use)');
    }
  }

  async stop(): Promise<void> {
    if (this.#redis.status === 'ready') await this.#redis.quit().catch(() => {});
    this.#redis.disconnect();
  }
}
