/**
 * The same contracts over Redis Cluster and Redis Sentinel, each started here as our own
 * processes (three cluster masters; one master with one Sentinel) and killed by PID afterwards,
 * then over TLS (`rediss://`, `rediss-cluster://`, `rediss-sentinel://`) with a CA made here.
 * Every test writes under a prefix of its own; the processes, and their data, go at the end.
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as vitest from 'vitest';
import { systemClock } from '../../src/clock.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { createRedisCoordination } from '../../src/backends/coordination/redis.js';
import type { Coordination } from '../../src/backends/coordination/types.js';
import { openRedisConnection, type RedisConnection } from '../../src/backends/redis/connection.js';
import { parseRedisUrl } from '../../src/config/redis-url.js';
import { createRedisStore } from '../../src/backends/stores/redis.js';
import { runCoordinationConformance } from '../coordination/conformance.js';
import { cli, makeTestTls, startRedisCluster, startRedisSentinel, startRedisServer, type TestTls } from '../helpers/redis-server.js';
import { makeRecord, runStoreConformance } from '../../src/testing/index.js';

let n = 0;

/** `ca`: the CA a TLS connection trusts (the test-only option; deployments use NODE_EXTRA_CA_CERTS). */
async function connect(url: string, keyPrefix = `gh-topo:${++n}:`, ca?: string): Promise<RedisConnection> {
  const parsed = parseRedisUrl(url);
  if ('problem' in parsed) throw new Error(parsed.problem);
  const connection = openRedisConnection(parsed.target, { keyPrefix, connectTimeout: 2_000, commandTimeout: 2_000, ca });
  if (!(await connection.ready(10_000))) throw new Error(`could not connect to ${url}`);
  return connection;
}

/** Both conformance suites against one topology, whose URL (and CA) are known once `beforeAll` has run. */
function runSuites(name: string, url: () => string, ca: () => string | undefined = () => undefined): void {
  runStoreConformance(vitest, name, async (clock) => {
    const connection = await connect(url(), undefined, ca());
    const prefix = connection.keyPrefix;
    const opened = [connection];
    return {
      store: createRedisStore({ connection, clock }),
      async reopen() {
        const again = await connect(url(), prefix, ca());
        opened.push(again);
        return createRedisStore({ connection: again, clock });
      },
      async cleanup() {
        for (const c of opened) await c.close();
      },
    };
  });

  runCoordinationConformance(name, async () => {
    const connection = await connect(url(), undefined, ca());
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

/** Opens a connection that must not come up: `ready` fails, commands fail as store-unavailable, and a certificate error was reported. */
async function expectRefused(url: string, ca: string | undefined): Promise<void> {
  const parsed = parseRedisUrl(url);
  if ('problem' in parsed) throw new Error(parsed.problem);
  const reported: string[] = [];
  const explain = (error: unknown): string =>
    error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message} ${error.cause ? explain(error.cause) : ''}` : String(error);
  const connection = openRedisConnection(parsed.target, {
    keyPrefix: 'gh-tls-refused:',
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    ca,
    onError: (error) => reported.push(explain(error)),
  });
  const store = createRedisStore({ connection });
  try {
    expect(await connection.ready(2_000)).toBe(false);
    await expect(store.get('a'.repeat(43))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(reported.join('\n')).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE/);
  } finally {
    await store.close();
  }
}

const exec = promisify(execFile);
const DIST = (path: string) => pathToFileURL(fileURLToPath(new URL(`../../dist/${path}`, import.meta.url))).href;

/**
 * Connects from a fresh Node process, as a deployment would: the built code, no test-only CA, and
 * `NODE_EXTRA_CA_CERTS` (read by Node at start-up) naming the CA, or not.
 */
async function connectFromNewProcess(url: string, extraCaFile: string | undefined): Promise<{ ready: boolean; pong: unknown }> {
  const script = `
    const { parseRedisUrl } = await import(${JSON.stringify(DIST('config/redis-url.js'))});
    const { openRedisConnection } = await import(${JSON.stringify(DIST('backends/redis/connection.js'))});
    const parsed = parseRedisUrl(process.env.GH_TEST_REDIS_URL);
    const connection = openRedisConnection(parsed.target, { keyPrefix: 'gh-extra-ca:', connectTimeout: 2000, commandTimeout: 2000 });
    const ready = await connection.ready(3000);
    const pong = ready ? await connection.command(undefined, ['PING']) : null;
    await connection.close();
    process.stdout.write(JSON.stringify({ ready, pong }));
  `;
  const { NODE_EXTRA_CA_CERTS: _inherited, ...env } = process.env;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...env, GH_TEST_REDIS_URL: url, ...(extraCaFile ? { NODE_EXTRA_CA_CERTS: extraCaFile } : {}) },
    timeout: 15_000,
  });
  return JSON.parse(stdout) as { ready: boolean; pong: unknown };
}

describe('redis over TLS (a CA made here)', () => {
  let tls: TestTls;
  /** A CA that signed none of the servers. */
  let stranger: TestTls;
  beforeAll(async () => {
    tls = await makeTestTls();
    stranger = await makeTestTls('Stranger CA');
  }, 30_000);
  afterAll(() => {
    tls?.remove();
    stranger?.remove();
  });

  describe('rediss:// (one server)', () => {
    let server: Awaited<ReturnType<typeof startRedisServer>>;
    beforeAll(async () => {
      server = await startRedisServer([], undefined, tls);
    }, 30_000);
    afterAll(() => server?.stop());

    runSuites('rediss', () => server.url, () => tls.ca);

    it('refuses a server whose certificate no trusted CA signed: the store is unavailable', async () => {
      await expectRefused(server.url, undefined); // Node's own CA store: the default.
      await expectRefused(server.url, stranger.ca);
    });

    it('refuses plain TCP on the TLS port (redis:// is not silently "upgraded")', async () => {
      const plain = server.url.replace(/^rediss:/, 'redis:');
      const parsed = parseRedisUrl(plain);
      if ('problem' in parsed) throw new Error(parsed.problem);
      const connection = openRedisConnection(parsed.target, { keyPrefix: 'gh-tls-plain:', connectTimeout: 1_000, commandTimeout: 1_000 });
      try {
        expect(await connection.ready(1_500)).toBe(false);
      } finally {
        await connection.close();
      }
    });

    it('trusts a private CA named by NODE_EXTRA_CA_CERTS, as deployed (and only then)', async () => {
      expect(await connectFromNewProcess(server.url, tls.caFile)).toStrictEqual({ ready: true, pong: 'PONG' });
      expect(await connectFromNewProcess(server.url, undefined)).toStrictEqual({ ready: false, pong: null });
    }, 30_000);
  });

  describe('rediss-cluster:// (3 masters, tls-cluster)', () => {
    let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
    beforeAll(async () => {
      cluster = await startRedisCluster(tls);
    }, 60_000);
    afterAll(() => cluster?.stop());

    runSuites('rediss-cluster', () => cluster.url, () => tls.ca);

    it('refuses nodes whose certificate no trusted CA signed', async () => {
      await expectRefused(cluster.url, undefined);
      await expectRefused(cluster.url, stranger.ca);
    });
  });

  describe('rediss-sentinel:// (1 master, 1 sentinel, both TLS)', () => {
    let sentinel: Awaited<ReturnType<typeof startRedisSentinel>>;
    beforeAll(async () => {
      sentinel = await startRedisSentinel('gatehouse-tls', tls);
    }, 60_000);
    afterAll(() => sentinel?.stop());

    runSuites('rediss-sentinel', () => sentinel.url, () => tls.ca);

    it('refuses a Sentinel whose certificate no trusted CA signed', async () => {
      await expectRefused(sentinel.url, undefined);
      await expectRefused(sentinel.url, stranger.ca);
    });
  });
});
