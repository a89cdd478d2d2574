import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import * as vitest from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { openRedisConnection, type RedisCommand, type RedisConnection } from '../../src/backends/redis/connection.js';
import { parseRedisUrl, type RedisTarget } from '../../src/config/redis-url.js';
import { createRedisCoordination } from '../../src/backends/coordination/redis.js';
import { openSessionBackend } from '../../src/backends/stores/index.js';
import { createRedisStore } from '../../src/backends/stores/redis.js';
import type { SessionRecord, SessionStore } from '../../src/session/model.js';
import { deleteKeys, freePort } from '../helpers/redis-server.js';
import { describeWithRedis, REDIS_URL, runId } from '../helpers/services.js';
import { makeRecord, runStoreConformance } from '../../src/testing/index.js';

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function target(url: string): RedisTarget {
  const parsed = parseRedisUrl(url);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.target;
}

let n = 0;
/** A key prefix of its own for each test: parallel runs and tests never see each other's keys. */
const nextPrefix = () => `gh-test:${runId}:store:${++n}:`;

async function connect(keyPrefix: string, url = REDIS_URL): Promise<RedisConnection> {
  const connection = openRedisConnection(target(url), { keyPrefix, connectTimeout: 2_000, commandTimeout: 2_000 });
  await connection.ready(5_000);
  return connection;
}

/** The connection, counting the calls waiting for an answer at once (what fills node-redis's queue). */
function counting(connection: RedisConnection): { connection: RedisConnection; maxInFlight(): number } {
  let inFlight = 0;
  let max = 0;
  const track = <T>(call: Promise<T>): Promise<T> => {
    max = Math.max(max, ++inFlight);
    return call.finally(() => inFlight--);
  };
  return {
    connection: {
      keyPrefix: connection.keyPrefix,
      get closed() {
        return connection.closed;
      },
      command: <T>(key: string | undefined, args: RedisCommand) => track(connection.command<T>(key, args)),
      script: (script, keys, args) => track(connection.script(script, keys, args)),
      transaction: (groups) => track(connection.transaction(groups)),
      ping: () => connection.ping(),
      ready: (ms) => connection.ready(ms),
      retain: () => connection.retain(),
      close: () => connection.close(),
    },
    maxInFlight: () => max,
  };
}

describeWithRedis('redis store', () => {
  runStoreConformance(vitest, 'redis', async (clock) => {
    const prefix = nextPrefix();
    const opened: RedisConnection[] = [];
    const open = async () => {
      const connection = await connect(prefix);
      opened.push(connection);
      return createRedisStore({ connection, clock });
    };
    return {
      store: await open(),
      // Redis keeps the data: a new connection and store over the same prefix is a restart.
      reopen: open,
      async cleanup() {
        for (const c of opened) await c.close();
        await deleteKeys(REDIS_URL, prefix);
      },
    };
  });

  // The same contract through the public entry point, config defaults and all.
  runStoreConformance(vitest, 'redis via openSessionBackend', async (clock) => {
    const prefix = nextPrefix();
    const redis = { keyPrefix: prefix, connectTimeout: 2_000, commandTimeout: 2_000 };
    const { store, coordination } = await openSessionBackend(REDIS_URL, { clock, redis });
    return {
      store,
      async cleanup() {
        await coordination.close();
        await deleteKeys(REDIS_URL, prefix);
      },
    };
  });

  let admin: ReturnType<typeof createClient>;
  let prefix: string;
  let connection: RedisConnection;
  let store: SessionStore;
  let now: number;

  beforeAll(async () => {
    admin = createClient({ url: REDIS_URL });
    admin.on('error', () => {});
    await admin.connect();
  });
  afterAll(() => admin.destroy());

  beforeEach(async () => {
    now = T0;
    prefix = nextPrefix();
    connection = await connect(prefix);
    store = createRedisStore({ connection, clock: () => now });
  });
  afterEach(async () => {
    await store.close();
    await connection.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  const pttl = (key: string) => admin.pTTL(`${prefix}${key}`);
  /** Within a second below `ms`: the test's own commands take a little of the TTL. */
  const expectTtl = async (key: string, ms: number) => {
    const ttl = await pttl(key);
    expect(ttl).toBeGreaterThan(ms - 1_000);
    expect(ttl).toBeLessThanOrEqual(ms);
  };

  it('gives a record the TTL of whichever timeout comes first, and its user index the absolute one', async () => {
    const idleFirst = makeRecord({ userId: 'u1' }); // idle 30 min, absolute 8 h
    const absoluteFirst = makeRecord({ userId: 'u1', idleExpiresAt: T0 + 2 * HOUR, expiresAt: T0 + HOUR });
    await store.set(idleFirst);
    await store.set(absoluteFirst);
    await expectTtl(`s:${idleFirst.id}`, 30 * MINUTE);
    await expectTtl(`s:${absoluteFirst.id}`, HOUR);
    // The index outlives every session it lists, whatever touch does to their idle expiry.
    await expectTtl('u:u1', 8 * HOUR);
    expect(await admin.zRangeWithScores(`${prefix}u:u1`, 0, -1)).toStrictEqual([
      { value: absoluteFirst.id, score: absoluteFirst.expiresAt },
      { value: idleFirst.id, score: idleFirst.expiresAt },
    ]);
  });

  it('touch slides the TTL with the idle expiry, never past the absolute one', async () => {
    const record = makeRecord({ expiresAt: T0 + 45 * MINUTE });
    await store.set(record);
    now = T0 + 10 * MINUTE;
    await store.touch(record.id, now, now + 30 * MINUTE);
    await expectTtl(`s:${record.id}`, 30 * MINUTE);
    now = T0 + 30 * MINUTE;
    await store.touch(record.id, now, now + 30 * MINUTE);
    // Idle would be T0+60m; the absolute expiry (T0+45m) comes first.
    await expectTtl(`s:${record.id}`, 15 * MINUTE);
  });

  it('touch of an unknown or expired id writes nothing to Redis', async () => {
    await store.touch('ghost', T0, T0 + HOUR);
    expect(await admin.exists(`${prefix}s:ghost`)).toBe(0);
    const record = makeRecord();
    await store.set(record);
    now = record.idleExpiresAt;
    await store.touch(record.id, now, now + 30 * MINUTE);
    expect(await admin.hGet(`${prefix}s:${record.id}`, 'i')).toBe(String(record.idleExpiresAt));
  });

  it('keeps the user index consistent through delete, deleteByUser, a move and Redis expiry', async () => {
    const [a, b, c, d] = [1, 2, 3, 4].map(() => makeRecord({ userId: 'u1' })) as [SessionRecord, SessionRecord, SessionRecord, SessionRecord];
    for (const r of [a, b, c, d]) await store.set(r);
    expect(await admin.zCard(`${prefix}u:u1`)).toBe(4);
    await store.delete(a.id);
    expect(await admin.zRange(`${prefix}u:u1`, 0, -1)).toStrictEqual([b.id, c.id, d.id].sort());
    // Moved to another user: listed there at once, pruned from the old index on its next read.
    await store.set({ ...b, userId: 'u2' });
    expect((await store.listByUser('u1')).map((r) => r.id).sort()).toStrictEqual([c.id, d.id].sort());
    expect(await admin.zRange(`${prefix}u:u1`, 0, -1)).toStrictEqual([c.id, d.id].sort());
    expect(await admin.zRange(`${prefix}u:u2`, 0, -1)).toStrictEqual([b.id]);
    // deleteByUser meets a stale entry before any read pruned it: the owner check spares u2's session.
    await store.set({ ...c, userId: 'u2' });
    expect(await store.deleteByUser('u1')).toBe(1);
    expect(await admin.exists(`${prefix}u:u1`)).toBe(0);
    expect((await store.get(c.id))?.userId).toBe('u2');
    expect(await store.get(d.id)).toBeNull();
    expect(await admin.zRange(`${prefix}u:u2`, 0, -1)).toStrictEqual([b.id, c.id].sort());

    // A record Redis expires (here: 50 ms of idle time left) leaves a dangling entry; a read prunes it.
    const short = makeRecord({ userId: 'u2', idleExpiresAt: now + 50 });
    await store.set(short);
    expect(await admin.zCard(`${prefix}u:u2`)).toBe(3);
    await sleep(120);
    expect(await admin.exists(`${prefix}s:${short.id}`)).toBe(0);
    expect((await store.listByUser('u2')).map((r) => r.id).sort()).toStrictEqual([b.id, c.id].sort());
    expect(await admin.zRange(`${prefix}u:u2`, 0, -1)).toStrictEqual([b.id, c.id].sort());
  });

  it('update writes the record only: no key, index entry or gauge entry for a session deleted before it', async () => {
    const record = makeRecord({ userId: 'u1' });
    await store.set(record);
    await store.delete(record.id);
    expect(await store.update(record)).toBe(false);
    expect(await admin.exists(`${prefix}s:${record.id}`)).toBe(0);
    expect(await admin.zScore(`${prefix}u:u1`, record.id)).toBeNull();
    expect(await admin.zScore(`${prefix}live`, record.id)).toBeNull();
  });

  it('update moves the TTL and the gauge score with the new expiries, and the index with a later absolute one', async () => {
    const record = makeRecord({ userId: 'u1', expiresAt: T0 + 2 * HOUR });
    await store.set(record);
    now = T0 + 10 * MINUTE;
    expect(await store.update({ ...record, lastSeenAt: now, idleExpiresAt: now + 30 * MINUTE })).toBe(true);
    await expectTtl(`s:${record.id}`, 30 * MINUTE);
    expect(await admin.zScore(`${prefix}live`, record.id)).toBe(now + 30 * MINUTE);
    expect(await admin.zScore(`${prefix}u:u1`, record.id)).toBe(T0 + 2 * HOUR);
    // A later absolute expiry: the index entry, and the index itself, must outlive the session.
    expect(await store.update({ ...record, idleExpiresAt: T0 + 3 * HOUR, expiresAt: T0 + 3 * HOUR })).toBe(true);
    await expectTtl(`s:${record.id}`, 3 * HOUR - 10 * MINUTE);
    expect(await admin.zScore(`${prefix}u:u1`, record.id)).toBe(T0 + 3 * HOUR);
    await expectTtl('u:u1', 3 * HOUR - 10 * MINUTE);
  });

  it('lists and deletes 1 500 sessions of one user in batches, while another user’s reads go through', async () => {
    const many = Array.from({ length: 1_500 }, (_, i) => makeRecord({ userId: 'hoarder', createdAt: T0 - i }));
    for (let at = 0; at < many.length; at += 100) await Promise.all(many.slice(at, at + 100).map((r) => store.set(r)));
    const bystander = makeRecord({ userId: 'bystander' });
    await store.set(bystander);

    // The store under test, over the same connection, counting what it has in flight at once.
    const counted = counting(connection);
    const measured = createRedisStore({ connection: counted.connection, clock: () => now });
    const [listed, meanwhile] = await Promise.all([measured.listByUser('hoarder'), measured.get(bystander.id)]);
    expect(listed.map((r) => r.id)).toStrictEqual(many.map((r) => r.id));
    expect(meanwhile).toStrictEqual(bystander);
    // One batch (100 reads) plus the bystander's read, never the whole user at once.
    expect(counted.maxInFlight()).toBeLessThanOrEqual(101);

    const [deleted, stillThere] = await Promise.all([measured.deleteByUser('hoarder'), measured.get(bystander.id)]);
    expect(deleted).toBe(1_500);
    expect(stillThere).toStrictEqual(bystander);
    expect(counted.maxInFlight()).toBeLessThanOrEqual(101);
    expect(await store.listByUser('hoarder')).toStrictEqual([]);
    expect(await admin.exists(`${prefix}u:hoarder`)).toBe(0);
    expect(await store.listByUser('bystander')).toStrictEqual([bystander]);
  });

  it('stores nothing for a record that is already dead, and removes what it replaces', async () => {
    const record = makeRecord();
    await store.set(record);
    await store.set({ ...record, idleExpiresAt: T0 });
    expect(await admin.exists(`${prefix}s:${record.id}`)).toBe(0);
    expect(await store.get(record.id)).toBeNull();
  });

  it('isolates key prefixes: a store sees and deletes only its own sessions', async () => {
    const otherPrefix = nextPrefix();
    const otherConnection = await connect(otherPrefix);
    const other = createRedisStore({ connection: otherConnection, clock: () => now });
    try {
      const mine = makeRecord({ userId: 'u1' });
      const theirs = makeRecord({ id: mine.id, userId: 'u1', provider: 'other' });
      await store.set(mine);
      await other.set(theirs);
      expect(await store.get(mine.id)).toStrictEqual(mine);
      expect(await other.get(mine.id)).toStrictEqual(theirs);
      expect(await other.deleteByUser('u1')).toBe(1);
      expect(await store.listByUser('u1')).toStrictEqual([mine]);
      const keys: string[] = [];
      for await (const batch of admin.scanIterator({ MATCH: `${prefix}*` })) keys.push(...batch);
      expect(keys.sort()).toStrictEqual([`${prefix}live`, `${prefix}s:${mine.id}`, `${prefix}u:u1`]);
    } finally {
      await other.close();
      await deleteKeys(REDIS_URL, otherPrefix);
    }
  });

  it('treats malformed or foreign data as absent, never as a crash, and set() replaces it', async () => {
    const key = (id: string) => `${prefix}s:${id}`;
    await admin.set(key('a-string'), 'not a hash');
    await admin.hSet(key('bad-json'), { u: 'u1', c: '1', l: '1', i: String(T0 + HOUR), e: String(T0 + HOUR), r: '{nope' });
    await admin.hSet(key('bad-time'), { u: 'u1', c: 'x', l: '1', i: String(T0 + HOUR), e: String(T0 + HOUR), r: '{}' });
    const bad = JSON.stringify({ user: { id: 'u1', roles: 'admin' }, provider: 'local', client: {} });
    await admin.hSet(key('bad-roles'), { u: 'u1', c: '1', l: '1', i: String(T0 + HOUR), e: String(T0 + HOUR), r: bad });
    await admin.hSet(key('missing'), { u: 'u1' });
    await admin.zAdd(`${prefix}u:u1`, ['a-string', 'bad-json', 'bad-time', 'bad-roles', 'missing'].map((value) => ({ value, score: T0 + HOUR })));
    for (const id of ['a-string', 'bad-json', 'bad-time', 'bad-roles', 'missing']) {
      expect(await store.get(id)).toBeNull();
      await store.touch(id, T0, T0 + HOUR);
    }
    expect(await store.listByUser('u1')).toStrictEqual([]);
    expect(await admin.zCard(`${prefix}u:u1`)).toBe(0);
    // A user index of the wrong type lists nothing.
    await admin.set(`${prefix}u:u9`, 'x');
    expect(await store.listByUser('u9')).toStrictEqual([]);
    // Writing over foreign data works, and delete removes it.
    const record = makeRecord({ id: 'a-string' });
    await store.set(record);
    expect(await store.get('a-string')).toStrictEqual(record);
    await admin.set(key('gone'), 'x');
    await store.delete('gone');
    expect(await admin.exists(key('gone'))).toBe(0);
  });

  it('keeps the live-session set bounded without any scrape: expired entries leave on the next sign-in', async () => {
    for (let i = 0; i < 5; i++) await store.set(makeRecord({ userId: `gone-${i}`, createdAt: T0, idleExpiresAt: T0 + MINUTE }));
    expect(await admin.zCard(`${prefix}live`)).toBe(5);
    now = T0 + 2 * MINUTE;
    const fresh = makeRecord({ userId: 'fresh', createdAt: now, idleExpiresAt: now + 30 * MINUTE, expiresAt: now + HOUR });
    await store.set(fresh);
    expect(await admin.zRange(`${prefix}live`, 0, -1)).toStrictEqual([fresh.id]);
    expect(await store.countLive?.()).toBe(1);
  });

  it('hands out frozen records', async () => {
    const record = makeRecord();
    await store.set(record);
    const got = await store.get(record.id);
    expect(Object.isFrozen(got)).toBe(true);
    expect(Object.isFrozen(got?.user.roles)).toBe(true);
  });

  it('with Redis unreachable: created without throwing; ping and every operation reject with store_unavailable', async () => {
    const port = await freePort();
    const down = openRedisConnection(target(`redis://127.0.0.1:${port}`), { keyPrefix: prefix, connectTimeout: 500, commandTimeout: 500 });
    const unreachable = createRedisStore({ connection: down });
    try {
      expect(await down.ready(100)).toBe(false);
      for (const op of [() => unreachable.ping(), () => unreachable.get('x'), () => unreachable.set(makeRecord({ expiresAt: Date.now() + HOUR, idleExpiresAt: Date.now() + HOUR }))]) {
        await expect(op()).rejects.toBeInstanceOf(StoreUnavailableError);
      }
    } finally {
      await unreachable.close();
    }
    expect(down.closed).toBe(true);
  });

  it('closes the shared connection once both the store and the coordination are closed', async () => {
    const shared = await connect(prefix);
    const sessions = createRedisStore({ connection: shared });
    const coordination = createRedisCoordination({ connection: shared });
    await sessions.close();
    await sessions.close();
    expect(shared.closed).toBe(false);
    await expect(coordination.put('k', 'v', 1000)).resolves.toBeUndefined();
    await coordination.close();
    expect(shared.closed).toBe(true);
    await expect(coordination.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('refuses a malformed URL without echoing its password', async () => {
    const error = await openSessionBackend('redis://user:s3cret@host:99999').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/port of "host" must be a number from 1 to 65535/);
    expect((error as Error).message).not.toContain('s3cret');
  });
});
