import { type Clock, systemClock } from '../../clock.js';
import { StoreUnavailableError } from '../../errors.js';
import { evalCommand, isWrongTypeError, type RedisConnection } from '../redis/connection.js';
import { deepFreeze } from '../../util/deep-freeze.js';
import { isLive, type SessionRecord, type SessionStore } from '../../session/model.js';
import { decode, encodeFields, encodeRest, FIELDS } from './redis-session-codec.js';
import { redisSessionKeys } from './redis-session-keys.js';
import { DELETE, DELETE_IF_OWNER, INDEX_ADD, TOUCH, UPDATE } from './redis-session-scripts.js';

/** Options for {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** The shared connection (see `openRedisConnection`); the store takes a share and releases it on close. */
  connection: RedisConnection;
  /** Decides expiry. Defaults to the system clock; tests inject a fake one. */
  clock?: Clock;
}

/**
 * Sessions read or deleted at once by listByUser and deleteByUser; batches run one after the
 * other. The connection is shared by every request and bounds its queue (10 000 commands): one
 * user with thousands of sessions must not fill it and turn everyone's requests into 503s.
 */
const BATCH = 100;

function* batches<T>(items: readonly T[]): Generator<T[]> {
  for (let at = 0; at < items.length; at += BATCH) yield items.slice(at, at + BATCH);
}

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
  // The key layout, and the order of writes it relies on: redis-session-keys.ts.
  const keys = redisSessionKeys(connection.keyPrefix);
  const sessionKey = keys.session;
  const userKey = keys.user;
  const liveKey = keys.live;
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
      const index = userKey(record.userId);
      await connection.transaction([
        {
          key,
          commands: [
            // DEL first: a replacement starts clean, even over foreign data at the key.
            ['DEL', key],
            ['HSET', key, ...encodeFields(record)],
            ['PEXPIRE', key, String(ttl)],
          ],
        },
        // After the record (see the key layout note in redis-session-keys.ts). A record moved to
        // another user is left listed under its old owner; readers prune it there, since its owner
        // field says otherwise.
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
      // Only the session key, in one script (the index key is in another slot in a Cluster, and
      // already lists the session): a session deleted meanwhile stays deleted and unindexed.
      const before = await connection.script(
        UPDATE,
        [sessionKey(record.id)],
        [String(now), record.userId, String(record.createdAt), String(record.lastSeenAt), String(record.idleExpiresAt), String(record.expiresAt), encodeRest(record), String(Math.ceil(expiry - now))],
      );
      if (typeof before !== 'string') return false;
      if (record.expiresAt > Number(before)) {
        // A later absolute expiry must not outlive the index entry (see the key layout note in
        // redis-session-keys.ts). Should a delete land between the two writes, this leaves a
        // dangling entry only, which readers prune.
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

/** Newest first by creation time; the id breaks ties so the order is stable. */
function newestFirst(a: SessionRecord, b: SessionRecord): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
