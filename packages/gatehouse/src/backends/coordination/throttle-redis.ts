import { luaScript, type LuaScript } from '../redis/connection.js';
import { MAX_LOCKOUTS } from './throttle-step.js';
import type { FailureOutcome, FailureRule } from './throttle-types.js';

/**
 * One failure as one Lua script: Redis runs a script alone (no other command in between), so the
 * read, the count and the write of `stepFailure` (throttle-step.ts) are one atomic step, whatever
 * the number of gateway instances. One key, so one slot (Cluster).
 *
 * The script is `stepFailure` line for line. Foreign or malformed data at the key counts as no
 * entry (as `get` treats it) and is overwritten. Numbers are written with %.17g, which keeps every
 * double exactly (cjson's default of 14 digits would round large epoch milliseconds).
 *
 * ARGV: now, window, limit, lockout, maxLockout, MAX_LOCKOUTS, the backend clock's now (for the TTL).
 */
export const RECORD_FAILURE: LuaScript = luaScript(`
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lockout, maxLockout, maxLockouts, clock = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local e
local raw = redis.pcall('GET', KEYS[1])
if type(raw) == 'string' then
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' and type(v.failures) == 'number' and type(v.windowStart) == 'number'
    and type(v.lockouts) == 'number' and type(v.lockedUntil) == 'number' then e = v end
end
if not e then e = { failures = 0, windowStart = now, lockouts = 0, lockedUntil = 0 } end
if e.lockedUntil > now then return 'refused' end
if e.lockouts > 0 and now >= e.lockedUntil + window then e.lockouts = 0 end
if e.failures == 0 or now - e.windowStart >= window then
  e.failures = 0
  e.windowStart = now
end
e.failures = e.failures + 1
local locked = e.failures >= limit
if locked then
  e.lockedUntil = now + math.min(lockout * 2 ^ e.lockouts, maxLockout)
  e.lockouts = math.min(e.lockouts + 1, maxLockouts)
  e.failures = 0
end
local expiresAt = e.lockedUntil + window
if e.failures > 0 and e.windowStart + window > expiresAt then expiresAt = e.windowStart + window end
local ttl = math.ceil(expiresAt - clock)
if ttl < 1 then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('{"failures":%.17g,"windowStart":%.17g,"lockouts":%.17g,"lockedUntil":%.17g}',
    e.failures, e.windowStart, e.lockouts, e.lockedUntil), 'PX', string.format('%d', ttl))
end
if locked then return 'locked' end
return 'counted'
`);

/** The script's arguments for one failure. */
export function recordFailureArgs(rule: FailureRule, clockNow: number): string[] {
  return [rule.now, rule.window, rule.limit, rule.lockout, rule.maxLockout, MAX_LOCKOUTS, clockNow].map(String);
}

/** The script's answer as an outcome (anything else is a bug worth failing loudly on). */
export function toOutcome(reply: unknown): FailureOutcome {
  if (reply === 'counted' || reply === 'locked' || reply === 'refused') return reply;
  throw new Error(`unexpected reply from the throttle script: ${String(reply)}`);
}
