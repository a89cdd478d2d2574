import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../../clock.js';
import { StoreUnavailableError } from '../../errors.js';
import type { ThrottleBackend, ThrottleEntry } from './throttle-types.js';
import { isWrongTypeError, luaScript, type RedisConnection } from '../redis/connection.js';
import { RECORD_FAILURE, recordFailureArgs, toOutcome } from './throttle-redis.js';
import type { Coordination, Lock } from './types.js';

/** Options for {@link createRedisCoordination}. */
export interface RedisCoordinationOptions {
  /** The shared connection; the backend takes a share and releases it on close. */
  connection: RedisConnection;
  /** Turns the throttle's `expiresAt` (by this clock) into a TTL. Default: the system clock. */
  clock?: Clock;
  /** Told when releasing a lock failed (it then frees itself at its TTL). */
  onError?: (error: unknown) => void;
}

/** Frees a lock only while it still holds our token: never another holder's after our TTL ran out. */
const RELEASE = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * Coordination state in Redis, shared by every gateway instance on the same Redis and key prefix.
 * Keys live under `<prefix>c:` (`t:` throttle, `l:` locks, `o:` one-time marks, `v:` values), each
 * with a TTL, so Redis forgets them on its own. Every method rejects with StoreUnavailableError
 * when Redis cannot answer, so callers fail closed.
 */
export function createRedisCoordination(options: RedisCoordinationOptions): Coordination {
  const { connection } = options;
  const clock = options.clock ?? systemClock;
  const release = connection.retain();
  const key = (kind: string, name: string) => `${connection.keyPrefix}c:${kind}:${name}`;
  let closed = false;

  async function run<T>(name: string, args: readonly string[]): Promise<T> {
    if (closed) throw new StoreUnavailableError(new Error('redis coordination is closed'));
    return connection.command<T>(name, args);
  }

  const throttle: ThrottleBackend = {
    async get(name) {
      const k = key('t', name);
      try {
        return parseEntry(await run(k, ['GET', k]));
      } catch (error) {
        // Foreign data at our key counts as no entry, like a malformed one.
        if (isWrongTypeError(error)) return undefined;
        throw error;
      }
    },
    async recordFailure(name, rule) {
      const k = key('t', name);
      if (closed) throw new StoreUnavailableError(new Error('redis coordination is closed'));
      return toOutcome(await connection.script(RECORD_FAILURE, [k], recordFailureArgs(rule, clock())));
    },
    async set(name, entry, expiresAt) {
      const k = key('t', name);
      const ttl = Math.ceil(expiresAt - clock());
      await run(k, ttl > 0 ? ['SET', k, JSON.stringify(entry), 'PX', String(ttl)] : ['DEL', k]);
    },
    async delete(name) {
      const k = key('t', name);
      await run(k, ['DEL', k]);
    },
  };

  return {
    throttle,

    async tryLock(name, ttlMs): Promise<Lock | null> {
      const k = key('l', name);
      // A random token per holder: release compares it, so it never frees a later holder's lock.
      const token = randomBytes(16).toString('base64url');
      if ((await run(k, ['SET', k, token, 'NX', 'PX', px(ttlMs)])) !== 'OK') return null;
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          // Best effort: a release that fails leaves the lock to expire at its TTL. Rejecting here
          // would fail the request that did its work under the lock.
          await connection.script(RELEASE, [k], [token]).catch((error: unknown) => options.onError?.(error));
        },
      };
    },

    async claimOnce(name, ttlMs) {
      const k = key('o', name);
      return (await run(k, ['SET', k, '1', 'NX', 'PX', px(ttlMs)])) === 'OK';
    },

    async put(name, value, ttlMs) {
      const k = key('v', name);
      await run(k, ['SET', k, value, 'PX', px(ttlMs)]);
    },

    async get(name) {
      const k = key('v', name);
      try {
        const value = await run(k, ['GET', k]);
        return typeof value === 'string' ? value : null;
      } catch (error) {
        if (isWrongTypeError(error)) return null;
        throw error;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await release();
    },
  };
}

/** A TTL Redis accepts: a whole number of milliseconds, at least 1. */
function px(ttlMs: number): string {
  if (!Number.isFinite(ttlMs)) throw new RangeError(`a TTL must be a finite number of milliseconds, got ${ttlMs}`);
  return String(Math.max(1, Math.ceil(ttlMs)));
}

/** A throttle entry as we wrote it, or undefined for anything else. */
function parseEntry(value: unknown): ThrottleEntry | undefined {
  if (typeof value !== 'string') return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  const fields = ['failures', 'windowStart', 'lockouts', 'lockedUntil'] as const;
  if (!fields.every((f) => typeof e[f] === 'number' && Number.isFinite(e[f]))) return undefined;
  return { failures: e.failures as number, windowStart: e.windowStart as number, lockouts: e.lockouts as number, lockedUntil: e.lockedUntil as number };
}
