import { type Clock, systemClock } from '../../clock.js';
import { StoreUnavailableError } from '../../errors.js';
import { evalCommand, isWrongTypeError, luaScript, type RedisConnection } from '../redis/connection.js';
import { deepFreeze } from '../../util/deep-freeze.js';
import { assembleRecord, type RecordRest, restOf } from './record-parts.js';
import { isLive, type SessionRecord, type SessionStore, type SessionUser } from '../../session/model.js';

/** Options for {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** The shared connection (see `openRedisConnection`); the store takes a share and releases it on close. */
  connection: RedisConnection;
  /** Decides expiry. Defaults to the system clock; tests inject a fake one. */
  clock?: Clock;
}

/*
 * Key layout, under the configured prefix `p`:
 *
 * - `p s:<id>`: a hash, one per session: u (userId), c (createdAt), l (lastSeenAt),
 *   i (idleExpiresAt), e (expiresAt), r (JSON of user, provider, client, data). The timestamps
 *   are fields of their own so `touch` can slide them in Lua without re-encoding the JSON (Lua's
 *   cjson would turn [] into {} and round long numbers). Its TTL is min(i, e) − now: Redis drops
 *   a session at whichever timeout comes first, and `touch` moves the TTL with `i`.
 * - `p u:<userId>`: a sorted set of the user's session ids, scored by their absolute expiry.
 *   Its TTL is the latest of those expiries, which no `touch` can pass, so the index outlives
 *   every session it lists.
 *
 * The invariant that matters for security: every live session is in its user's index, so
 * "sign out everywhere" (deleteByUser) reaches it. Readers never trust the index alone: each entry
 * is checked against its record (present, same owner), and entries that fail are pruned.
 *
 * - set writes the record, then the index entry. Had the index come first, a concurrent
 *   listByUser could find the entry before its record, prune it, and leave the new session
 *   unlisted. If the second write fails, set rejects: a new session's cookie is never handed out
 *   (the login answers 503), and a replaced session was indexed already.
 * - delete removes the record, then the entry: an interruption leaves a dangling entry only.
 * - update rewrites the record only, in one script that first checks it is still there, owned by
 *   the same user and live: the index already lists it, and a session deleted meanwhile (its
 *   entry removed or about to be) is not written back. Only a later absolute expiry also
 *   rescores the entry (after the record, like set).
 *
 * - `p live`: a sorted set of every session id scored by min(idle, absolute) expiry, kept for the
 *   active-sessions gauge only (`countLive`): entries past their score are dropped when counting.
 *   Best effort: nothing reads sessions through it, so a lost entry miscounts and nothing more.
 *
 * In a Redis Cluster the two keys live in different slots and are written one after the other;
 * elsewhere both writes of set share one MULTI. Both paths rely on the same order.
 */

/** Adds a session to its user's index, drops members past their absolute expiry, and keeps the index as long as its longest member. */
const INDEX_ADD = luaScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = math.ceil(tonumber(top[2]) - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ttl)
return ttl
`);

/** Slides the idle expiry of a live session, and its TTL. An unknown or expired session stays as it is. */
const TOUCH = luaScript(`
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
const UPDATE = luaScript(`
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
const DELETE = luaScript(`
local owner = false
if redis.call('TYPE', KEYS[1]).ok == 'hash' then owner = redis.call('HGET', KEYS[1], 'u') end
redis.call('DEL', KEYS[1])
return owner
`);

/** Deletes a session if ARGV[1] owns it. 1: it was live; 0: it was expired; -1: not this user's (or gone). */
const DELETE_IF_OWNER = luaScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return -1 end
local v = redis.call('HMGET', KEYS[1], 'u', 'i', 'e')
if v[1] ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
local idle, exp, now = tonumber(v[2]), tonumber(v[3]), tonumber(ARGV[2])
if idle and exp and now < idle and now < exp then return 1 end
return 0
`);

const FIELDS = ['u', 'c', 'l', 'i', 'e', 'r'] as const;

/**
 * Sessions read or deleted at once by listByUser and deleteByUser; batches run one after the
 * other. The connection is shared by every request and bounds its queue (10 000 commands): one
 * user with thousands of sessions must not fill it and turn everyone's requests into 503s.
 */
const BATCH = 100;

function* batches<T>(items: readonly T[]): Generator<T[]> {
  for (let at = 0; at < items.length; at += BATCH) yield items.slice(at, at + BATCH);
}

/** The columns that are not kept in their own field, stored as JSON in `r`. */
type Rest = RecordRest;

/**
 * A session store in Redis (a server, Sentinel or Cluster): sessions are shared by every gateway
 * instance and survive their restarts. Redis expires records itself; reads also check expiry
 * against the store's clock, which decides (tests move it).
 *
 * Every failure (Redis down, slow, refusing) rejects with StoreUnavailableError: fail closed.
 * Data at our keys that is not what we wrote is treated as absent, never trusted.
 */
export function createRedisStore(options: RedisStoreOptions): SessionStore {
  const { connection } = options;
  const clock = options.clock ?? systemClock;
  const release = connection.retain();
  const sessionKey = (id: string) => `${connection.keyPrefix}s:${id}`;
  const userKey = (userId: string) => `${connection.keyPrefix}u:${userId}`;
  const liveKey = `${connection.keyPrefix}live`;
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new StoreUnavailableError(new Error('redis session store is closed'));
  }

  /** The record at `id`, parsed and checked, whether live or not; null when absent or malformed. */
  async function read(id: string): Promise<SessionRecord | null> {
    const key = sessionKey(id);
    try {
      return decode(id, await connection.command(key, ['HMGET', key, ...FIELDS]));
    } catch (error) {
      if (isWrongTypeError(error)) return null;
      throw error;
    }
  }

  async function idsOf(userId: string): Promise<string[]> {
    const key = userKey(userId);
    try {
      const ids = await connection.command(key, ['ZRANGE', key, '0', '-1']);
      return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
    } catch (error) {
      if (isWrongTypeError(error)) return [];
      throw error;
    }
  }

  return {
    async get(id) {
      assertOpen();
      const record = await read(id);
      return record && isLive(record, clock()) ? deepFreeze(record) : null;
    },

    async set(record) {
      assertOpen();
      const now = clock();
      const key = sessionKey(record.id);
      const ttl = Math.ceil(Math.min(record.idleExpiresAt, record.expiresAt) - now);
      if (!(ttl > 0)) {
        // Dead on arrival: nothing to keep, but it replaces (removes) whatever was there.
        await connection.command(key, ['DEL', key]);
        return;
      }
      const rest = restOf(record);
      const index = userKey(record.userId);
      await connection.transaction([
        {
          key,
          commands: [
            // DEL first: a replacement starts clean, even over foreign data at the key.
            ['DEL', key],
            ['HSET', key, 'u', record.userId, 'c', String(record.createdAt), 'l', String(record.lastSeenAt), 'i', String(record.idleExpiresAt), 'e', String(record.expiresAt), 'r', JSON.stringify(rest)],
            ['PEXPIRE', key, String(ttl)],
          ],
        },
        // After the record (see the key layout note). A record moved to another user is left
        // listed under its old owner; readers prune it there, since its owner field says otherwise.
        { key: index, commands: [evalCommand(INDEX_ADD, [index], [record.id, String(record.expiresAt), String(now)])] },
        // Expired entries leave with each sign-in too, so the set stays bounded with metrics off.
        {
          key: liveKey,
          commands: [
            ['ZREMRANGEBYSCORE', liveKey, '-inf', String(now)],
            ['ZADD', liveKey, String(Math.min(record.idleExpiresAt, record.expiresAt)), record.id],
          ],
        },
      ]);
    },

    async update(record) {
      assertOpen();
      const now = clock();
      const expiry = Math.min(record.idleExpiresAt, record.expiresAt);
      const rest = restOf(record);
      // Only the session key, in one script (the index key is in another slot in a Cluster, and
      // already lists the session): a session deleted meanwhile stays deleted and unindexed.
      const before = await connection.script(
        UPDATE,
        [sessionKey(record.id)],
        [String(now), record.userId, String(record.createdAt), String(record.lastSeenAt), String(record.idleExpiresAt), String(record.expiresAt), JSON.stringify(rest), String(Math.ceil(expiry - now))],
      );
      if (typeof before !== 'string') return false;
      if (record.expiresAt > Number(before)) {
        // A later absolute expiry must not outlive the index entry (see the key layout note). Should
        // a delete land between the two writes, this leaves a dangling entry only, which readers prune.
        const index = userKey(record.userId);
        await connection.script(INDEX_ADD, [index], [record.id, String(record.expiresAt), String(now)]);
      }
      // XX: only a session still counted is rescored.
      await connection.command(liveKey, ['ZADD', liveKey, 'XX', String(expiry), record.id]);
      return true;
    },

    async touch(id, lastSeenAt, idleExpiresAt) {
      assertOpen();
      const slid = await connection.script(TOUCH, [sessionKey(id)], [String(clock()), String(lastSeenAt), String(idleExpiresAt)]);
      // XX: only a session still counted moves; the absolute expiry caps it as in the record.
      if (slid === 1) await connection.command(liveKey, ['ZADD', liveKey, 'XX', String(idleExpiresAt), id]);
    },

    async delete(id) {
      assertOpen();
      const owner = await connection.script(DELETE, [sessionKey(id)], []);
      if (typeof owner === 'string') {
        const index = userKey(owner);
        await connection.command(index, ['ZREM', index, id]);
      }
      await connection.command(liveKey, ['ZREM', liveKey, id]);
    },

    async deleteByUser(userId, exceptId) {
      assertOpen();
      const now = String(clock());
      const ids = (await idsOf(userId)).filter((id) => id !== exceptId);
      const index = userKey(userId);
      let live = 0;
      for (const batch of batches(ids)) {
        // One script per session (each key may be in its own slot); node-redis pipelines a batch.
        const outcomes = await Promise.all(batch.map((id) => connection.script(DELETE_IF_OWNER, [sessionKey(id)], [userId, now])));
        // Records first, then their entries: an interruption leaves dangling entries only.
        await connection.command(index, ['ZREM', index, ...batch]);
        await connection.command(liveKey, ['ZREM', liveKey, ...batch]);
        // Only live sessions count (they are what the user signed out); expired ones go as well.
        live += outcomes.filter((outcome) => outcome === 1).length;
      }
      return live;
    },

    async listByUser(userId) {
      assertOpen();
      const ids = await idsOf(userId);
      const records: (SessionRecord | null)[] = [];
      for (const batch of batches(ids)) records.push(...(await Promise.all(batch.map(read))));
      const now = clock();
      const live: SessionRecord[] = [];
      const dangling: string[] = [];
      ids.forEach((id, n) => {
        const record = records[n];
        // Gone, moved to another user, or past its absolute expiry (final): prune the entry.
        if (!record || record.userId !== userId || now >= record.expiresAt) dangling.push(id);
        else if (isLive(record, now)) live.push(deepFreeze(record));
      });
      if (dangling.length > 0) {
        const index = userKey(userId);
        await connection.command(index, ['ZREM', index, ...dangling]);
      }
      return live.sort(newestFirst);
    },

    async countLive() {
      assertOpen();
      await connection.command(liveKey, ['ZREMRANGEBYSCORE', liveKey, '-inf', String(clock())]);
      const count = await connection.command(liveKey, ['ZCARD', liveKey]);
      return typeof count === 'number' ? count : Number(count);
    },

    async ping() {
      assertOpen();
      await connection.ping();
    },

    async close() {
      if (closed) return;
      closed = true;
      await release();
    },
  };
}

/** A record from HMGET's answer, or null when any field is missing or not what we write. */
function decode(id: string, fields: unknown): SessionRecord | null {
  if (!Array.isArray(fields) || fields.length !== FIELDS.length) return null;
  const [userId, c, l, i, e, json] = fields as unknown[];
  const times = [c, l, i, e].map(toTime);
  if (typeof userId !== 'string' || typeof json !== 'string' || times.some((t) => t === null)) return null;
  const rest = parseRest(json);
  if (!rest) return null;
  const [createdAt, lastSeenAt, idleExpiresAt, expiresAt] = times as [number, number, number, number];
  return assembleRecord({ id, userId, createdAt, lastSeenAt, idleExpiresAt, expiresAt }, rest);
}

function toTime(value: unknown): number | null {
  if (typeof value !== 'string' || !/^-?\d{1,16}(\.\d+)?$/.test(value)) return null;
  return Number(value);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The JSON part, checked field by field: a value someone else wrote must not pass as a session. */
function parseRest(json: string): Rest | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (!isObject(value) || typeof value.provider !== 'string' || !isObject(value.client)) return null;
  const user = value.user;
  if (!isObject(user) || typeof user.id !== 'string') return null;
  if (!Array.isArray(user.roles) || !user.roles.every((role) => typeof role === 'string')) return null;
  for (const key of ['username', 'name', 'email'] as const) {
    if (user[key] !== undefined && typeof user[key] !== 'string') return null;
  }
  if (value.data !== undefined && !isObject(value.data)) return null;
  return {
    user: user as unknown as SessionUser,
    provider: value.provider,
    client: value.client as Rest['client'],
    ...(value.data !== undefined ? { data: value.data } : {}),
  };
}

/** Newest first by creation time; the id breaks ties so the order is stable. */
function newestFirst(a: SessionRecord, b: SessionRecord): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
