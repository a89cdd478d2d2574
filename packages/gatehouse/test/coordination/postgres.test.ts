import { afterEach, beforeEach, expect, it } from 'vitest';
import { createPostgresCoordination, type PostgresCoordination } from '../../src/backends/coordination/postgres.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { openPostgresDatabase } from '../../src/backends/postgres/pool.js';
import { fakeClock } from '../local/fake-clock.js';
import { dropSchema, freshSchema, postgresOptions, sql } from '../helpers/postgres.js';
import { describeWithPostgres, POSTGRES_URL } from '../helpers/services.js';
import { runCoordinationConformance } from './conformance.js';

const T0 = Date.UTC(2030, 0, 1);

describeWithPostgres('postgres coordination', () => {
  runCoordinationConformance('postgres', async () => {
    const schema = freshSchema();
    // Expiry is judged with the gateway's clock, so a fake one moves time exactly.
    const clock = fakeClock();
    const instances: PostgresCoordination[] = [];
    return {
      // Each instance has its own pool, like separate gateway processes over one database.
      instance() {
        const c = createPostgresCoordination({ db: openPostgresDatabase(POSTGRES_URL, postgresOptions(schema)), clock });
        instances.push(c);
        return c;
      },
      clock,
      passTime: async (ms) => clock.advance(ms),
      exactClock: true,
      async cleanup() {
        for (const c of instances) await c.close();
        await dropSchema(schema);
      },
    };
  });

  let schema: string;
  let now: number;
  const clock = () => now;
  let opened: PostgresCoordination[];

  /** A coordination backend with its own pool over the test's schema. */
  function instance(purgeIntervalMs?: number): PostgresCoordination {
    const db = openPostgresDatabase(POSTGRES_URL, postgresOptions(schema));
    const c = createPostgresCoordination({ db, clock, purgeIntervalMs });
    opened.push(c);
    return c;
  }

  beforeEach(() => {
    schema = freshSchema();
    now = T0;
    opened = [];
  });
  afterEach(async () => {
    for (const c of opened) await c.close();
    await dropSchema(schema);
  });

  it('purgeExpired removes expired locks, marks, values and throttle entries, and keeps live ones', async () => {
    const c = instance();
    await c.tryLock('old-lock', 1000);
    await c.tryLock('live-lock', 60_000);
    await c.claimOnce('old-mark', 1000);
    await c.claimOnce('live-mark', 60_000);
    await c.put('old-value', 'x', 1000);
    await c.put('live-value', 'y', 60_000);
    await c.throttle.set('old-entry', { failures: 1, windowStart: T0, lockouts: 0, lockedUntil: 0 }, T0 + 1000);
    await c.throttle.set('live-entry', { failures: 1, windowStart: T0, lockouts: 0, lockedUntil: 0 }, T0 + 60_000);
    now = T0 + 1000;
    expect(await c.purgeExpired()).toBe(4);
    const keys = await sql<{ key: string }>(
      `SELECT key FROM "${schema}".locks UNION ALL SELECT key FROM "${schema}".once_marks
       UNION ALL SELECT key FROM "${schema}".kv UNION ALL SELECT key FROM "${schema}".throttle ORDER BY key`,
    );
    expect(keys.rows.map((r) => r.key)).toEqual(['live-entry', 'live-lock', 'live-mark', 'live-value']);
    expect(await c.purgeExpired()).toBe(0);
  });

  it('purges in the background on its timer', async () => {
    const c = instance(20);
    await c.put('old-value', 'x', 1000);
    await c.claimOnce('old-mark', 1000);
    now = T0 + 1000;
    const rows = async () =>
      (await sql(`SELECT key FROM "${schema}".kv UNION ALL SELECT key FROM "${schema}".once_marks`)).rowCount;
    await expect.poll(rows, { timeout: 3000, interval: 20 }).toBe(0);
  });

  it('fails closed after close(): every operation rejects with store_unavailable', async () => {
    const c = instance();
    await c.close();
    for (const op of [
      () => c.tryLock('k', 1000),
      () => c.claimOnce('k', 1000),
      () => c.put('k', 'v', 1000),
      () => c.get('k'),
      () => c.throttle.get('k'),
      () => c.throttle.set('k', { failures: 1, windowStart: T0, lockouts: 0, lockedUntil: 0 }, T0 + 1000),
      () => c.throttle.delete('k'),
      () => c.throttle.recordFailure('k', { now: T0, window: 1000, limit: 3, lockout: 1000, maxLockout: 1000 }),
      () => c.purgeExpired(),
    ]) {
      await expect(op()).rejects.toBeInstanceOf(StoreUnavailableError);
    }
  });
});
