/**
 * The same contracts over Redis Cluster and Redis Sentinel, each started here as our own
 * processes (three cluster masters; one master with one Sentinel) and killed by PID afterwards.
 * Every test writes under a prefix of its own; the processes, and their data, go at the end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { createRedisCoordination } from '../../src/coordination/redis.js';
import type { Coordination } from '../../src/coordination/types.js';
import { openRedisConnection, type RedisConnection } from '../../src/redis/connection.js';
import { parseRedisUrl } from '../../src/redis/url.js';
import { createRedisStore } from '../../src/stores/redis.js';
import { runCoordinationConformance } from '../coordination/conformance.js';
import { cli, startRedisCluster, startRedisSentinel } from '../helpers/redis-server.js';
import { makeRecord, runStoreConformance } from './conformance.js';

let n = 0;

async function connect(url: string, keyPrefix = `gh-topo:${++n}:`): Promise<RedisConnection> {
  const parsed = parseRedisUrl(url);
  if ('problem' in parsed) throw new Error(parsed.problem);
  const connection = openRedisConnection(parsed.target, { keyPrefix, connectTimeout: 2_000, commandTimeout: 2_000 });
  if (!(await connection.ready(10_000))) throw new Error(`could not connect to ${url}`);
  return connection;
}

/** Both conformance suites against one topology, whose URL is known once `beforeAll` has run. */
function runSuites(name: string, url: () => string): void {
  runStoreConformance(name, async (clock) => {
    const connection = await connect(url());
    const prefix = connection.keyPrefix;
    const opened = [connection];
    return {
      store: createRedisStore({ connection, clock }),
      async reopen() {
        const again = await connect(url(), prefix);
        opened.push(again);
        return createRedisStore({ connection: again, clock });
      },
      async cleanup() {
        for (const c of opened) await c.close();
      },
    };
  });

  runCoordinationConformance(name, async () => {
    const connection = await connect(url());
    const instances: Coordination[] = [];
    return {
      instance() {
        const c = createRedisCoordination({ connection, clock: systemClock });
        instances.push(c);
        return c;
      },
      clock: systemClock,
      passTime: (ms) => sleep(ms),
      exactClock: false,
      async cleanup() {
        for (const c of instances) await c.close();
        await connection.close();
      },
    };
  });
}

describe('redis cluster (3 masters)', () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(() => cluster?.stop());

  runSuites('redis-cluster', () => cluster.url);

  it('spreads one user’s sessions over the masters (keys in different slots, no CROSSSLOT error)', async () => {
    const connection = await connect(cluster.url);
    const store = createRedisStore({ connection });
    try {
      const now = Date.now();
      const records = Array.from({ length: 30 }, () => makeRecord({ userId: 'spread', createdAt: now, idleExpiresAt: now + 60_000, expiresAt: now + 120_000 }));
      for (const r of records) await store.set(r);
      expect(await store.listByUser('spread')).toHaveLength(30);
      const perNode = await Promise.all(cluster.nodes.map(async (node) => Number(await cli(node.port, 'DBSIZE'))));
      expect(perNode.filter((size) => size > 0).length).toBe(3);
      expect(await store.deleteByUser('spread')).toBe(30);
    } finally {
      await store.close();
    }
  });
});

describe('redis sentinel (1 master, 1 sentinel)', () => {
  let sentinel: Awaited<ReturnType<typeof startRedisSentinel>>;
  beforeAll(async () => {
    sentinel = await startRedisSentinel('gatehouse');
  }, 60_000);
  afterAll(() => sentinel?.stop());

  runSuites('redis-sentinel', () => sentinel.url);

  it('finds the master through the Sentinel and writes to it', async () => {
    const connection = await connect(sentinel.url);
    const store = createRedisStore({ connection });
    try {
      const now = Date.now();
      const record = makeRecord({ createdAt: now, idleExpiresAt: now + 60_000, expiresAt: now + 120_000 });
      await store.set(record);
      expect(await cli(sentinel.master.port, 'HGET', `${connection.keyPrefix}s:${record.id}`, 'u')).toBe(record.userId);
    } finally {
      await store.close();
    }
  });
});
