import type { Redis } from 'ioredis';

/**
 * The Lua scripts of the Redis approval store. Each method that reads and then writes is
 * one script: Redis runs it atomically, so it decides from the stored fields with the
 * `now` it is given, and writes, with no command of another replica in between. That is
 * what makes exactly one of two racing parks of a binding create a record, and exactly one
 * of two racing transitions of a record apply.
 *
 * A record is a HASH (see `redis-store.ts`): an immutable JSON field `doc`, `binding`,
 * and one field per mutable field, numbers as decimal strings and null as an absent field.
 * The scripts never encode JSON (Lua's cjson writes an empty array as `{}`): every value
 * they store comes encoded from TypeScript; they only compare states and times, and HSET.
 *
 * Keys the scripts name themselves (the record a pointer names, the pointer of a record)
 * are built from the prefixes they are given, as `redis-store.ts` builds them; on Redis
 * Cluster a hash-tag prefix (`{mcpw}:`) keeps every key of the store in one slot.
 */

/** Shared helpers, prepended to every script. */
const PRELUDE = `
local function fmt(n) return string.format('%d', n) end
-- Whether a stored state reads as expired at now (stateAt in record.ts): a live state past its expiry.
local function expired(state, expires, grant, now)
  if state == 'pending' then return now >= tonumber(expires) end
  if state == 'granted' then return now >= (tonumber(grant) or 0) end
  return false
end
-- When the record may be dropped (droppableAt in record.ts).
local function droppable(expires, grant, max_grant, retain)
  return math.max(tonumber(expires) + max_grant, tonumber(grant) or 0) + retain
end
-- The TTL and drop-index score of a record from its stored times, and its pointer's TTL
-- while the pointer names it. The TTL only cleans up: sweep drops by the stored times.
local function keep(key, pointer, id, drop_index, now, max_grant, retain)
  local v = redis.call('HMGET', key, 'expires_at', 'grant_expires_at')
  local at = droppable(v[1], v[2], max_grant, retain)
  local ms = math.ceil(at - now)
  if ms < 1 then ms = 1 end
  redis.call('PEXPIRE', key, fmt(ms))
  if redis.call('GET', pointer) == id then redis.call('PEXPIRE', pointer, fmt(ms)) end
  redis.call('ZADD', drop_index, string.format('%.17g', at), id)
end
`;

/**
 * KEYS: record, binding pointer, list index, drop index. ARGV: now, id hash, created_at,
 * record key prefix, max grant ms, retain ms, field, value…
 * Returns the fields of the live (pending or granted, not expired) record the binding
 * already names, and stores nothing; else 0 when the id hash exists (collision), else
 * stores the record, points the binding at it, indexes it and returns 1.
 */
const PARK = `
local now = tonumber(ARGV[1])
local current = redis.call('GET', KEYS[2])
if current then
  local key = ARGV[4] .. current
  local v = redis.call('HMGET', key, 'state', 'expires_at', 'grant_expires_at')
  if (v[1] == 'pending' or v[1] == 'granted') and not expired(v[1], v[2], v[3], now) then
    return redis.call('HGETALL', key)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
keep(KEYS[1], KEYS[2], ARGV[2], KEYS[4], now, tonumber(ARGV[5]), tonumber(ARGV[6]))
return 1
`;

/**
 * KEYS: record, drop index. ARGV: now, from states (',pending,granted,'), to state,
 * when ('live' | 'expired'), max grant ms, retain ms, pointer key prefix, id hash, number
 * of pairs to set, field, value…, field to clear…
 * Applies the transition when the stored state is one of `from` and the record is live
 * (or expired) at now, as `applies()` says, and returns the record's fields after it;
 * nil when it is unknown or the transition does not apply.
 */
const TRANSITION = `
local key, now = KEYS[1], tonumber(ARGV[1])
local v = redis.call('HMGET', key, 'state', 'expires_at', 'grant_expires_at', 'binding')
if not v[1] then return false end
if not string.find(ARGV[2], ',' .. v[1] .. ',', 1, true) then return false end
if expired(v[1], v[2], v[3], now) ~= (ARGV[4] == 'expired') then return false end
local pairs_end = 9 + 2 * tonumber(ARGV[9])
if pairs_end > 9 then
  redis.call('HSET', key, 'state', ARGV[3], unpack(ARGV, 10, pairs_end))
else
  redis.call('HSET', key, 'state', ARGV[3])
end
if #ARGV > pairs_end then redis.call('HDEL', key, unpack(ARGV, pairs_end + 1)) end
keep(key, ARGV[7] .. v[4], ARGV[8], KEYS[2], now, tonumber(ARGV[5]), tonumber(ARGV[6]))
return redis.call('HGETALL', key)
`;

/** KEYS: binding pointer. ARGV: record key prefix. The fields of the record it names; nil or empty when none. */
const BY_BINDING = `
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('HGETALL', ARGV[1] .. id)
`;

/**
 * KEYS: list index, drop index. ARGV: now, max grant ms, retain ms, record key prefix,
 * pointer key prefix, id hash.
 * Drops the record when it is past `droppableAt` at now (its pointer too, while it names
 * it), or its index entries when Redis already dropped it (TTL): returns 1. A record kept
 * longer (its grant moved its retention on) is scored again in the drop index: returns 0.
 */
const DROP = `
local now, id = tonumber(ARGV[1]), ARGV[6]
local key = ARGV[4] .. id
local v = redis.call('HMGET', key, 'expires_at', 'grant_expires_at', 'binding')
if v[1] then
  local at = droppable(v[1], v[2], tonumber(ARGV[2]), tonumber(ARGV[3]))
  if now < at then
    redis.call('ZADD', KEYS[2], string.format('%.17g', at), id)
    return 0
  end
  redis.call('DEL', key)
  local pointer = ARGV[5] .. v[3]
  if redis.call('GET', pointer) == id then redis.call('DEL', pointer) end
end
redis.call('ZREM', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
return 1
`;

type Fields = string[];

/** The scripts as commands of a client (ioredis `defineCommand` adds them untyped). */
export interface ApprovalScripts {
  mcpwApprovalPark(
    record: string,
    pointer: string,
    listIndex: string,
    dropIndex: string,
    ...args: (string | number)[]
  ): Promise<Fields | 0 | 1>;
  mcpwApprovalTransition(record: string, dropIndex: string, ...args: (string | number)[]): Promise<Fields | null>;
  mcpwApprovalByBinding(pointer: string, recordPrefix: string): Promise<Fields | null>;
  mcpwApprovalDrop(listIndex: string, dropIndex: string, ...args: (string | number)[]): Promise<0 | 1>;
}

/** Registers the scripts on `redis` (sent by EVALSHA, reloaded by ioredis after a server restart). */
export function defineApprovalScripts(redis: Redis): void {
  redis.defineCommand('mcpwApprovalPark', { numberOfKeys: 4, lua: PRELUDE + PARK });
  redis.defineCommand('mcpwApprovalTransition', { numberOfKeys: 2, lua: PRELUDE + TRANSITION });
  redis.defineCommand('mcpwApprovalByBinding', { numberOfKeys: 1, lua: BY_BINDING });
  redis.defineCommand('mcpwApprovalDrop', { numberOfKeys: 2, lua: PRELUDE + DROP });
}
