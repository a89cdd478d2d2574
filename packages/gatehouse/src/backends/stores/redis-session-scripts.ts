// The Lua scripts of the Redis session store: each check-then-write runs in one script, so no
// other command lands in between. Keys and fields as in redis-session-keys.ts.
import { luaScript } from '../redis/connection.js';

/** Adds a session to its user's index, drops members past their absolute expiry, and keeps the index as long as its longest member. */
export const INDEX_ADD = luaScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = math.ceil(tonumber(top[2]) - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ttl)
return ttl
`);

/** Slides the idle expiry of a live session, and its TTL. An unknown or expired session stays as it is. */
export const TOUCH = luaScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
local v = redis.call('HMGET', KEYS[1], 'i', 'e')
local idle, exp, now = tonumber(v[1]), tonumber(v[2]), tonumber(ARGV[1])
if not idle or not exp or now >= idle or now >= exp then return 0 end
local ttl = math.ceil(math.min(tonumber(ARGV[3]), exp) - now)
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('HSET', KEYS[1], 'l', ARGV[2], 'i', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`);

/**
 * Replaces the fields of a session that is still there, owned by ARGV[2] and live at ARGV[1]; its
 * owner (`u`) stays. Returns the absolute expiry it had (a string), or 0 when it wrote nothing.
 * The check and the write are one script, so no delete can land in between.
 */
export const UPDATE = luaScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
local v = redis.call('HMGET', KEYS[1], 'u', 'c', 'l', 'i', 'e', 'r')
if v[1] ~= ARGV[2] or not v[2] or not v[3] or not v[6] then return 0 end
local idle, exp, now = tonumber(v[4]), tonumber(v[5]), tonumber(ARGV[1])
if not idle or not exp or now >= idle or now >= exp then return 0 end
local ttl = tonumber(ARGV[8])
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return v[5]
end
redis.call('HSET', KEYS[1], 'c', ARGV[3], 'l', ARGV[4], 'i', ARGV[5], 'e', ARGV[6], 'r', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ttl)
return v[5]
`);

/** Deletes a session (or foreign data at its key) and returns its owner, so the caller can unindex it. */
export const DELETE = luaScript(`
local owner = false
if redis.call('TYPE', KEYS[1]).ok == 'hash' then owner = redis.call('HGET', KEYS[1], 'u') end
redis.call('DEL', KEYS[1])
return owner
`);

/** Deletes a session if ARGV[1] owns it. 1: it was live; 0: it was expired; -1: not this user's (or gone). */
export const DELETE_IF_OWNER = luaScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return -1 end
local v = redis.call('HMGET', KEYS[1], 'u', 'i', 'e')
if v[1] ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
local idle, exp, now = tonumber(v[2]), tonumber(v[3]), tonumber(ARGV[2])
if idle and exp and now < idle and now < exp then return 1 end
return 0
`);
