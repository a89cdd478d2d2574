import { afterEach, beforeEach, expect, it } from 'vitest';
import * as vitest from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { migrate } from '../../src/backends/postgres/migrations.js';
import { openPostgresDatabase, type PostgresDatabase } from '../../src/backends/postgres/pool.js';
import { PURGE_BATCH } from '../../src/backends/postgres/purge.js';
import { openSessionBackend } from '../../src/backends/stores/index.js';
import { createPostgresStore } from '../../src/backends/stores/postgres.js';
import { dropSchema, freshSchema, outageRelay, postgresOptions, sql, UNREACHABLE_URL } from '../helpers/postgres.js';
import { describeWithPostgres, POSTGRES_URL } from '../helpers/services.js';
import { makeRecord, runStoreConformance } from '../../src/testing/index.js';

const T0 = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;

describeWithPostgres('postgres session store', () => {
  runStoreConformance(vitest, 'postgres', async (clock) => {
    const schema = freshSchema();
    const open = () => createPostgresStore({ db: openPostgresDatabase(POSTGRES_URL, postgresOptions(schema)), clock });
    return { store: open(), reopen: async () => open(), cleanup: () => dropSchema(schema) };
  });

  let schema: string;
  let now: number;
  const clock = () => now;
  const toClose: { close(): Promise<void> }[] = [];

  beforeEach(() => {
    schema = freshSchema();
    now = T0;
  });
  afterEach(async () => {
    for (const c of toClose.splice(0)) await c.close();
    await dropSchema(schema);
  });

  function database(overrides = {}, url = POSTGRES_URL): PostgresDatabase {
    const db = openPostgresDatabase(url, postgresOptions(schema, overrides));
    toClose.push(db);
    return db;
  }

  const count = async () => (await sql<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".sessions`)).rows[0]?.n;

  /** Inserts `n` rows straight into the table: fast, and not through the code under test. */
  async function bulkInsert(n: number, idleExpiresAt: number, expiresAt: number): Promise<void> {
    await sql(
      `INSERT INTO "${schema}".sessions (id, user_id, created_at, last_seen_at, idle_expires_at, expires_at, record)
       SELECT 'bulk-' || i, 'u' || (i % 7), $1::bigint, $1::bigint, $2::bigint, $3::bigint, '{}'::jsonb
       FROM generate_series(1, $4::int) AS i`,
      [T0, idleExpiresAt, expiresAt, n],
    );
  }

  it('purgeExpired deletes expired rows only, in batches of PURGE_BATCH statements', async () => {
    const db = database();
    let deletes = 0;
    // Counts the statements the real database runs; nothing is faked.
    const counted: PostgresDatabase = Object.create(db, {
      query: {
        value: (text: string, values?: unknown[]) => {
          if (text.trimStart().startsWith('DELETE')) deletes++;
          return db.query(text, values);
        },
      },
    });
    const store = createPostgresStore({ db: counted, clock });
    toClose.push(store);
    const live = makeRecord({ userId: 'u1', idleExpiresAt: T0 + 5 * HOUR, expiresAt: T0 + 10 * HOUR });
    await store.set(live);
    await bulkInsert(2 * PURGE_BATCH + 203, T0 + 1000, T0 + HOUR); // idle expiry first
    await store.set(makeRecord({ idleExpiresAt: T0 + HOUR, expiresAt: T0 + 2000 })); // absolute first
    expect(await count()).toBe(String(2 * PURGE_BATCH + 205));

    expect(await store.purgeExpired()).toBe(0);
    expect(deletes).toBe(1);
    now = T0 + 2000;
    deletes = 0;
    expect(await store.purgeExpired()).toBe(2 * PURGE_BATCH + 204);
    expect(deletes).toBe(3);
    expect(await count()).toBe('1');
    expect(await store.get(live.id)).toStrictEqual(live);
  });

  it('the purge skips rows another transaction holds, instead of waiting for it', async () => {
    const store = createPostgresStore({ db: database(), clock });
    toClose.push(store);
    await store.ping(); // migrates
    await bulkInsert(10, T0 + 1000, T0 + HOUR);
    const pg = await import('pg');
    const holder = new pg.default.Client({ connectionString: POSTGRES_URL });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "${schema}".sessions WHERE id = 'bulk-1' FOR UPDATE`);
      now = T0 + 1000;
      // queryTimeout is 2 s: a purge that waited on the row lock would fail instead.
      expect(await store.purgeExpired()).toBe(9);
      await holder.query('ROLLBACK');
      expect(await store.purgeExpired()).toBe(1);
    } finally {
      await holder.end();
    }
  });

  it('purges in the background on its unref’d timer and reports failures to onPurgeError', async () => {
    const store = createPostgresStore({ db: database(), clock, purgeIntervalMs: 20 });
    toClose.push(store);
    await store.ping();
    await bulkInsert(30, T0 + 1000, T0 + HOUR);
    now = T0 + 1000;
    await expect.poll(count, { timeout: 3000, interval: 20 }).toBe('0');

    const errors: unknown[] = [];
    const broken = createPostgresStore({ db: database({}, UNREACHABLE_URL), clock, purgeIntervalMs: 20, onPurgeError: (e) => errors.push(e) });
    toClose.push(broken);
    await expect.poll(() => errors.length, { timeout: 3000, interval: 20 }).toBeGreaterThan(0);
    expect(errors[0]).toBeInstanceOf(StoreUnavailableError);
  });

  it('migration is idempotent and records each version once', async () => {
    const db = database();
    expect(await db.migrate()).toEqual({ schema, applied: [1] });
    expect(await db.migrate()).toEqual({ schema, applied: [] });
    const { rows } = await sql(`SELECT version, name FROM "${schema}".gatehouse_migrations`);
    expect(rows).toEqual([{ version: 1, name: expect.any(String) }]);
    const tables = await sql<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(['accounts', 'gatehouse_migrations', 'kv', 'locks', 'once_marks', 'sessions', 'throttle']);
  });

  it('five instances opening at once migrate once (advisory lock), and all of them work', async () => {
    const dbs = Array.from({ length: 5 }, () => database());
    const results = await Promise.all(dbs.map((db) => db.migrate()));
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 0, 0, 1]);

    const other = freshSchema();
    try {
      const backends = await Promise.all(
        Array.from({ length: 5 }, () => openSessionBackend(POSTGRES_URL, { clock, postgres: postgresOptions(other) })),
      );
      for (const b of backends) toClose.push(b.store, b.coordination);
      expect((await sql(`SELECT version FROM "${other}".gatehouse_migrations`)).rows).toEqual([{ version: 1 }]);
      const record = makeRecord();
      await backends[0]?.store.set(record);
      for (const b of backends) expect(await b.store.get(record.id)).toStrictEqual(record);
    } finally {
      for (const c of toClose.splice(0)) await c.close();
      await dropSchema(other);
    }
  });

  it('a failed migration rolls back entirely and is retried on the next use', async () => {
    const db = database();
    const raw = await import('pg');
    const pool = new raw.default.Pool({ connectionString: POSTGRES_URL, max: 1 });
    try {
      const broken = [{ version: 1, name: 'half', up: (s: string) => `CREATE TABLE ${s}.half (x int); SELECT nonsense` }];
      await expect(migrate(pool, schema, broken)).rejects.toMatchObject({ code: '42703' });
      expect((await sql('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount).toBe(0);
    } finally {
      await pool.end();
    }
    expect(await db.migrate()).toEqual({ schema, applied: [1] });
  });

  it('an unreachable database: opening never throws; every use rejects with StoreUnavailableError, ping too', async () => {
    const backend = await openSessionBackend(UNREACHABLE_URL, { clock, postgres: postgresOptions(schema) });
    toClose.push(backend.store, backend.coordination);
    for (const op of [
      () => backend.store.get('some-id'),
      () => backend.store.set(makeRecord()),
      () => backend.store.listByUser('u1'),
      () => backend.store.ping(),
      () => backend.coordination.get('k'),
      () => backend.coordination.tryLock('k', 1000),
    ]) {
      const error = await op().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error).toMatchObject({ code: 'store_unavailable', status: 503, cause: { code: 'ECONNREFUSED' } });
    }
  });

  it('a database down at start-up: the open resolves, use fails with 503, and service resumes (migration retried) when it is back', async () => {
    const relay = await outageRelay();
    const idleErrors: unknown[] = [];
    try {
      const db = openPostgresDatabase(relay.url, { ...postgresOptions(schema), onError: (e) => idleErrors.push(e) });
      const store = createPostgresStore({ db, clock });
      toClose.push(store);
      await relay.down();
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      expect((await sql('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount).toBe(0);

      await relay.up();
      const record = makeRecord();
      await store.set(record); // migrates first
      expect(await store.get(record.id)).toStrictEqual(record);

      // The server goes away under idle pooled connections: reported, not a crash; then recovers.
      await relay.down();
      await expect.poll(() => idleErrors.length, { timeout: 3000, interval: 20 }).toBeGreaterThan(0);
      await expect(store.get(record.id)).rejects.toBeInstanceOf(StoreUnavailableError);
      await relay.up();
      expect(await store.get(record.id)).toStrictEqual(record);
    } finally {
      await relay.down();
    }
  });

  it('a slow statement fails with StoreUnavailableError after queryTimeout (statement_timeout)', async () => {
    const db = database({ queryTimeout: 200 });
    const started = Date.now();
    const error = await db.query('SELECT pg_sleep(5)').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ cause: { code: '57014' } }); // query_canceled
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('store and coordination share one pool, ended once both are closed', async () => {
    const relay = await outageRelay();
    try {
      const { store, coordination } = await openSessionBackend(relay.url, { clock, postgres: postgresOptions(schema, { poolSize: 2 }) });
      // Several at once need more than one connection: a pool each would open up to 4.
      await Promise.all([store.ping(), coordination.put('k', 'v', 1000), store.ping(), coordination.get('k')]);
      expect(relay.connections()).toBeGreaterThan(0);
      expect(relay.connections()).toBeLessThanOrEqual(2);
      await store.close();
      expect(await coordination.get('k')).toBe('v');
      await coordination.close();
      await coordination.close();
      await expect(coordination.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect.poll(() => relay.connections(), { timeout: 3000, interval: 20 }).toBe(0);
    } finally {
      await relay.down();
    }
  });

  it('an id PostgreSQL text cannot hold (NUL) is simply unknown, not a 503', async () => {
    const store = createPostgresStore({ db: database(), clock });
    toClose.push(store);
    expect(await store.get('a\u0000b')).toBeNull();
    await store.delete('a\u0000b');
    await store.touch('a\u0000b', T0, T0 + HOUR);
    expect(await store.listByUser('u\u0000')).toStrictEqual([]);
  });
});
