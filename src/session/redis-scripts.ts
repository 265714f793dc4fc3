import type { Redis } from 'ioredis';

/**
 * The Lua scripts of the Redis session store. Each mutation is one script: Redis runs it
 * atomically, so it reads the stored timestamps, decides with the `now` it is given, and
 * writes, with no other command in between. That is what keeps a touch or a widen racing a
 * revoke (from this process or another replica) from resurrecting or widening a dead record.
 *
 * Records are laid out as `redis-codec.ts` says. Scripts never re-encode a table that may
 * be empty (Lua's cjson writes an empty table as `{}`), and never sort (Lua compares
 * strings with the server's locale): the codec sorts the scope when it reads a record.
 */

/** Shared helpers, prepended to every script. */
const PRELUDE = `
local function fmt(n) return string.format('%d', n) end
-- The stored times of a record in one read, or nil when it is gone (every record has expires_at).
local function times(key)
  local v = redis.call('HMGET', key, 'expires_at', 'idle_expires_at', 'revoked_at', 'last_seen_at', 'version')
  if not v[1] then return nil end
  return {
    expires = tonumber(v[1]), idle = tonumber(v[2]), revoked = tonumber(v[3]),
    seen = tonumber(v[4]), version = tonumber(v[5]),
  }
end
local function live(t, now)
  return t.revoked == nil and now < t.expires and now < t.idle
end
-- The TTL only cleans up: the key outlives the record's death by the retention, so
-- using a dead record is answered expired/revoked rather than unknown.
local function expire(key, t, now, retain)
  local ms = math.min(t.expires, t.idle, t.revoked or t.expires) + retain - now
  if ms < 1 then ms = 1 end
  redis.call('PEXPIRE', key, fmt(ms))
end
local function revoke(key, t, now, retain)
  t.revoked = now
  redis.call('HSET', key, 'revoked_at', fmt(now), 'version', fmt(t.version + 1))
  expire(key, t, now, retain)
end
`;

/**
 * KEYS: record, gone-set, owner index, index… ARGV: pttl, created_at, gone-at, gone-member,
 * id hash, expires_at, max per owner (0: none), record key prefix, field, value…
 * Returns 0 when the hash exists (collision), -1 when the owner already holds the most
 * live records, else 1.
 *
 * The owner index is scored by absolute expiry. With a limit, the script drops from it
 * every member past that expiry, then reads the others' times and drops the dead ones
 * (dead never lives again), so its size stays near the limit and the count is exact and
 * atomic with the insert, across replicas. The records it reads are named from the
 * prefix, not passed as KEYS: on Redis Cluster a hash-tag prefix (`{mcpw}:`) keeps every
 * key of the store in one slot, as the other indexes already need.
 */
const INSERT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local max, now = tonumber(ARGV[7]), tonumber(ARGV[2])
if max > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[2])
  local count = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    local t = times(ARGV[8] .. member)
    if t ~= nil and live(t, now) then count = count + 1 else redis.call('ZREM', KEYS[3], member) end
  end
  if count >= max then return -1 end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])
for i = 4, #KEYS do redis.call('ZADD', KEYS[i], ARGV[2], ARGV[5]) end
return 1
`;

/** KEYS: record. ARGV: now, retain. Returns the record's fields, or nil when unknown. */
const TOUCH = `
local key, now, retain = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local t = times(key)
if t == nil then return false end
if live(t, now) then
  -- The idle window is not stored apart: it is the distance the last touch left.
  t.idle = now + t.idle - t.seen
  redis.call('HSET', key, 'last_seen_at', fmt(now), 'idle_expires_at', fmt(t.idle), 'version', fmt(t.version + 1))
  expire(key, t, now, retain)
end
return redis.call('HGETALL', key)
`;

/** KEYS: record. ARGV: now, tool… Returns the record's fields, or nil when unknown. */
const ADD_SCOPE = `
local key, now = KEYS[1], tonumber(ARGV[1])
local t = times(key)
if t == nil then return false end
if live(t, now) then
  local scope = cjson.decode(redis.call('HGET', key, 'scope'))
  local have, added = {}, false
  for _, tool in ipairs(scope) do have[tool] = true end
  for i = 2, #ARGV do
    if not have[ARGV[i]] then
      have[ARGV[i]] = true
      scope[#scope + 1] = ARGV[i]
      added = true
    end
  end
  redis.call('HSET', key, 'version', fmt(t.version + 1))
  -- Only a list that gained a tool is re-encoded, so it is never empty (never '{}').
  if added then redis.call('HSET', key, 'scope', cjson.encode(scope)) end
end
return redis.call('HGETALL', key)
`;

/** KEYS: record. ARGV: now, retain. Keeps the first revocation time. */
const REVOKE = `
local key, now, retain = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local t = times(key)
if t == nil then return false end
if t.revoked == nil then revoke(key, t, now, retain) end
return redis.call('HGETALL', key)
`;

/**
 * KEYS: record, the index it was found in. ARGV: now, retain, id hash, filter JSON.
 * Revokes a live record that matches the filter and returns its fields; 0 when it is
 * dead or does not match; -1 when it is gone (and drops it from the index).
 */
const REVOKE_LIVE = `
local key, now, retain = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local t = times(key)
if t == nil then
  redis.call('ZREM', KEYS[2], ARGV[3])
  return -1
end
if not live(t, now) then return 0 end
local filter = cjson.decode(ARGV[4])
local owner = cjson.decode(redis.call('HGET', key, 'owner'))
if (filter.iss ~= nil and owner.iss ~= filter.iss)
  or (filter.sub ~= nil and owner.sub ~= filter.sub)
  or (filter.client_id ~= nil and owner.client_id ~= filter.client_id)
  or (filter.server ~= nil and redis.call('HGET', key, 'server') ~= filter.server) then
  return 0
end
revoke(key, t, now, retain)
return redis.call('HGETALL', key)
`;

/**
 * KEYS: rule, rule index. ARGV: rule JSON, revoked_at, pttl, expires_at, index member.
 * Keeps a live rule under the same key that was revoked later (it covers more); returns
 * the JSON of the rule in force. The TTL drops the rule; the index (scored by expiry) is
 * for listing and is trimmed by the sweep.
 */
const REVOKE_PRINCIPAL = `
local old = redis.call('GET', KEYS[1])
if old then
  local kept = cjson.decode(old)
  if tonumber(kept.revoked_at) >= tonumber(ARGV[2]) then return old end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
return ARGV[1]
`;

type Reply = Promise<string[] | null>;

/** The scripts as commands of a client or a pipeline (ioredis `defineCommand` adds them untyped). */
export interface SessionScripts {
  mcpwInsert(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<0 | 1 | -1>;
  mcpwTouch(key: string, now: number, retainMs: number): Reply;
  mcpwAddScope(key: string, now: number, ...tools: string[]): Reply;
  mcpwRevoke(key: string, now: number, retainMs: number): Reply;
  mcpwRevokeLive(
    key: string,
    index: string,
    now: number,
    retainMs: number,
    idHash: string,
    filter: string,
  ): Promise<string[] | 0 | -1>;
  mcpwRevokePrincipal(
    key: string,
    index: string,
    rule: string,
    revokedAt: number,
    pttl: number,
    expiresAt: number,
    member: string,
  ): Promise<string>;
}

/** Registers the scripts on `redis` (sent by EVALSHA, reloaded by ioredis after a server restart). */
export function defineSessionScripts(redis: Redis): void {
  redis.defineCommand('mcpwInsert', { lua: PRELUDE + INSERT });
  redis.defineCommand('mcpwTouch', { numberOfKeys: 1, lua: PRELUDE + TOUCH });
  redis.defineCommand('mcpwAddScope', { numberOfKeys: 1, lua: PRELUDE + ADD_SCOPE });
  redis.defineCommand('mcpwRevoke', { numberOfKeys: 1, lua: PRELUDE + REVOKE });
  redis.defineCommand('mcpwRevokeLive', { numberOfKeys: 2, lua: PRELUDE + REVOKE_LIVE });
  redis.defineCommand('mcpwRevokePrincipal', { numberOfKeys: 2, lua: REVOKE_PRINCIPAL });
}
