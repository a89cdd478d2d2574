import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { createRedisCoordination } from '../../src/backends/coordination/redis.js';
import type { Coordination } from '../../src/backends/coordination/types.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { openRedisConnection, type RedisConnection } from '../../src/backends/redis/connection.js';
import { parseRedisUrl, type RedisTarget } from '../../src/config/redis-url.js';
import { deleteKeys, freePort } from '../helpers/redis-server.js';
import { describeWithRedis, REDIS_URL, runId } from '../helpers/services.js';
import { runCoordinationConformance } from './conformance.js';

function target(url: string): RedisTarget {
  const parsed = parseRedisUrl(url);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.target;
}

let n = 0;
/** A key prefix of its own for each test: parallel runs and tests never see each other's keys. */
const nextPrefix = () => `gh-test:${runId}:coord:${++n}:`;

/** Connections opened by a test, closed after it. */
async function connect(url: string, keyPrefix: string, timeouts = { connectTimeout: 2_000, commandTimeout: 2_000 }): Promise<RedisConnection> {
  const connection = openRedisConnection(target(url), { keyPrefix, ...timeouts });
  await connection.ready(5_000);
  return connection;
}

describeWithRedis('redis coordination', () => {
  runCoordinationConformance('redis', async () => {
    const prefix = nextPrefix();
    const instances: Coordination[] = [];
    const connections: RedisConnection[] = [];
    // Instances are made synchronously by the suite: connect them up front, hand them out in turn.
    for (let i = 0; i < 3; i++) connections.push(await connect(REDIS_URL, prefix));
    let next = 0;
    return {
      instance() {
        const connection = connections[next++ % connections.length] as RedisConnection;
        const coordination = createRedisCoordination({ connection, clock: systemClock });
        instances.push(coordination);
        return coordination;
      },
      clock: systemClock,
      // Redis enforces the TTLs on its own clock: let real time pass.
      passTime: (ms) => sleep(ms),
      exactClock: false,
      async cleanup() {
        for (const c of instances) await c.close();
        for (const c of connections) await c.close();
        await deleteKeys(REDIS_URL, prefix);
      },
    };
  });

  let admin: ReturnType<typeof createClient>;
  let prefix: string;
  let connection: RedisConnection;
  let coordination: Coordination;

  beforeAll(async () => {
    admin = createClient({ url: REDIS_URL });
    admin.on('error', () => {});
    await admin.connect();
  });
  afterAll(() => admin.destroy());

  beforeEach(async () => {
    prefix = nextPrefix();
    connection = await connect(REDIS_URL, prefix);
    coordination = createRedisCoordination({ connection });
  });
  afterEach(async () => {
    await coordination.close();
    await connection.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('keeps every key under <prefix>c:, each with its TTL in Redis', async () => {
    await coordination.tryLock('refresh:s1', 10_000);
    await coordination.claimOnce('bcl-jti:p:j1', 20_000);
    await coordination.put('sid:p:s1', 'user-1', 30_000);
    await coordination.throttle.set('u:abc', { failures: 1, windowStart: 0, lockouts: 0, lockedUntil: 0 }, Date.now() + 40_000);
    const keys: string[] = [];
    for await (const batch of admin.scanIterator({ MATCH: `${prefix}*` })) keys.push(...batch);
    expect(keys.sort()).toStrictEqual(
      [`${prefix}c:l:refresh:s1`, `${prefix}c:o:bcl-jti:p:j1`, `${prefix}c:t:u:abc`, `${prefix}c:v:sid:p:s1`].sort(),
    );
    const ttls = await Promise.all(
      ['c:l:refresh:s1', 'c:o:bcl-jti:p:j1', 'c:v:sid:p:s1', 'c:t:u:abc'].map((k) => admin.pTTL(`${prefix}${k}`)),
    );
    ttls.forEach((ttl, i) => {
      const expected = (i + 1) * 10_000;
      expect(ttl).toBeGreaterThan(expected - 2_000);
      expect(ttl).toBeLessThanOrEqual(expected);
    });
  });

  it('a lock holds a random token: another holder cannot be freed by a release', async () => {
    const lock = await coordination.tryLock('k', 10_000);
    const token = await admin.get(`${prefix}c:l:k`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // Someone else takes over the key (as after our TTL ran out): our release must leave it.
    await admin.set(`${prefix}c:l:k`, 'someone-else', { PX: 10_000 });
    await lock?.release();
    expect(await admin.get(`${prefix}c:l:k`)).toBe('someone-else');
  });

  it('treats foreign or malformed data at its keys as absent, never as a crash', async () => {
    await admin.set(`${prefix}c:t:bad-json`, '{not json');
    await admin.set(`${prefix}c:t:bad-shape`, JSON.stringify({ failures: 'many' }));
    await admin.hSet(`${prefix}c:t:a-hash`, 'failures', '1');
    await admin.hSet(`${prefix}c:v:a-hash`, 'x', '1');
    expect(await coordination.throttle.get('bad-json')).toBeUndefined();
    expect(await coordination.throttle.get('bad-shape')).toBeUndefined();
    expect(await coordination.throttle.get('a-hash')).toBeUndefined();
    expect(await coordination.get('a-hash')).toBeNull();
    // Counting a failure over them starts afresh (the script reads them as no entry) and replaces them.
    const now = Date.now();
    for (const name of ['bad-json', 'bad-shape', 'a-hash']) {
      expect(await coordination.throttle.recordFailure(name, { now, window: 60_000, limit: 3, lockout: 1000, maxLockout: 1000 })).toBe('counted');
      expect(await coordination.throttle.get(name)).toStrictEqual({ failures: 1, windowStart: now, lockouts: 0, lockedUntil: 0 });
    }
    // Writing over them works: SET replaces any type.
    await coordination.put('a-hash', 'v', 10_000);
    expect(await coordination.get('a-hash')).toBe('v');
  });

  it('fails closed after close(): every operation rejects with store_unavailable; release does not reject', async () => {
    const lock = await coordination.tryLock('held', 10_000);
    await coordination.close();
    await coordination.close(); // idempotent
    for (const op of [
      () => coordination.tryLock('k', 1000),
      () => coordination.claimOnce('k', 1000),
      () => coordination.put('k', 'v', 1000),
      () => coordination.get('k'),
      () => coordination.throttle.get('k'),
      () => coordination.throttle.set('k', { failures: 1, windowStart: 0, lockouts: 0, lockedUntil: 0 }, Date.now() + 1000),
      () => coordination.throttle.delete('k'),
      () => coordination.throttle.recordFailure('k', { now: Date.now(), window: 1000, limit: 3, lockout: 1000, maxLockout: 1000 }),
    ]) {
      await expect(op()).rejects.toBeInstanceOf(StoreUnavailableError);
    }
    // The lock's own connection share is gone too; release is best effort and never throws.
    await connection.close();
    await expect(lock?.release()).resolves.toBeUndefined();
  });

  it('with Redis unreachable: created without throwing, every operation rejects at once with store_unavailable', async () => {
    const port = await freePort();
    const down = openRedisConnection(target(`redis://127.0.0.1:${port}`), { keyPrefix: prefix, connectTimeout: 500, commandTimeout: 500 });
    const c = createRedisCoordination({ connection: down });
    try {
      const started = Date.now();
      await expect(c.tryLock('k', 1000)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(c.claimOnce('k', 1000)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(c.throttle.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
      // No offline queue: nothing waits for a connection that is not there.
      expect(Date.now() - started).toBeLessThan(400);
    } finally {
      await c.close();
      await down.close();
    }
  });
});
