import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as vitest from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { createSessionStore } from '../../src/backends/stores/index.js';
import { createSqliteStore, type SqliteSessionStore } from '../../src/backends/stores/sqlite.js';
import { makeRecord, runStoreConformance } from '../../src/testing/index.js';

runStoreConformance(vitest, 'sqlite', async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
  // A nested, not-yet-existing directory proves the store creates it.
  const filename = join(dir, 'data', 'sessions.db');
  return {
    store: createSqliteStore({ filename, clock }),
    reopen: async () => createSqliteStore({ filename, clock }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

runStoreConformance(vitest, 'sqlite::memory:', async (clock) => ({
  store: createSessionStore('sqlite::memory:', { clock }),
  cleanup: async () => {},
}));

describe('sqlite store', () => {
  const T0 = Date.UTC(2030, 0, 1);
  let now = T0;
  let dir: string;
  let filename: string;
  let store: SqliteSessionStore;

  beforeEach(() => {
    now = T0;
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
    filename = join(dir, 'sessions.db');
    store = createSqliteStore({ filename, clock: () => now });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function count(table = 'gatehouse_sessions'): number {
    const other = new Database(filename, { readonly: true });
    try {
      return (other.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    } finally {
      other.close();
    }
  }

  it('puts the file in WAL mode', () => {
    const other = new Database(filename);
    try {
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      other.close();
    }
  });

  it('purgeExpired removes expired rows, in batches, and leaves live ones', async () => {
    const live = makeRecord({ userId: 'u1', expiresAt: T0 + 10 * 3_600_000, idleExpiresAt: T0 + 5 * 3_600_000 });
    await store.set(live);
    for (let i = 0; i < 1203; i++) {
      await store.set(makeRecord({ userId: `u${i % 7}`, idleExpiresAt: T0 + 1000, expiresAt: T0 + 3_600_000 }));
    }
    await store.set(makeRecord({ idleExpiresAt: T0 + 3_600_000, expiresAt: T0 + 2000 }));
    expect(count()).toBe(1205);
    expect(store.purgeExpired()).toBe(0);
    now = T0 + 2000;
    expect(store.purgeExpired()).toBe(1204);
    expect(count()).toBe(1);
    expect(await store.get(live.id)).toStrictEqual(live);
  });

  it('get deletes an expired row it finds', async () => {
    const record = makeRecord({ idleExpiresAt: T0 + 1000 });
    await store.set(record);
    now = T0 + 1000;
    expect(await store.get(record.id)).toBeNull();
    expect(count()).toBe(0);
  });

  it('shares the file with other tables and connections', async () => {
    const other = new Database(filename);
    try {
      other.exec('CREATE TABLE accounts (id TEXT PRIMARY KEY)');
      other.prepare('INSERT INTO accounts VALUES (?)').run('ada');
      const record = makeRecord();
      await store.set(record);
      expect(await store.get(record.id)).toStrictEqual(record);
      expect(other.prepare('SELECT COUNT(*) AS n FROM gatehouse_sessions').get()).toStrictEqual({ n: 1 });
    } finally {
      other.close();
    }
  });

  it('honours a custom table name and refuses an unsafe one', async () => {
    const custom = createSqliteStore({ filename, clock: () => now, table: 'my_sessions' });
    try {
      await custom.set(makeRecord());
      expect(count('my_sessions')).toBe(1);
      expect(count()).toBe(0);
    } finally {
      await custom.close();
    }
    expect(() => createSqliteStore({ filename, table: 'x; DROP TABLE y' })).toThrow(/table name/);
  });

  it('rejects with StoreUnavailableError when the database is locked by another writer', async () => {
    const busy = createSqliteStore({ filename, clock: () => now, busyTimeoutMs: 0 });
    const other = new Database(filename);
    try {
      other.exec('BEGIN IMMEDIATE');
      const error = await busy.set(makeRecord()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error).toMatchObject({ code: 'store_unavailable', cause: { code: 'SQLITE_BUSY' } });
      other.exec('ROLLBACK');
      await expect(busy.ping()).resolves.toBeUndefined();
    } finally {
      other.close();
      await busy.close();
    }
  });

  it('purges in the background on its interval, in batches that yield to the event loop', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setImmediate'] });
    const timed = createSqliteStore({ filename, clock: () => now, table: 'timed', purgeIntervalMs: 1000 });
    try {
      for (let i = 0; i < 1100; i++) await timed.set(makeRecord({ idleExpiresAt: T0 + 1000 }));
      now = T0 + 1000;
      await vi.advanceTimersByTimeAsync(999);
      expect(count('timed')).toBe(1100);
      await vi.advanceTimersByTimeAsync(1);
      // One batch, then the purge yields: requests queued meanwhile get their turn.
      expect(count('timed')).toBe(600);
      await vi.runOnlyPendingTimersAsync();
      expect(count('timed')).toBe(0);
    } finally {
      await timed.close();
      vi.useRealTimers();
    }
  });

  it('purgeExpired after close throws StoreUnavailableError', async () => {
    await store.close();
    expect(() => store.purgeExpired()).toThrow(StoreUnavailableError);
  });
});

describe('createSessionStore', () => {
  it('refuses an unknown URL, naming it and the accepted forms', () => {
    for (const url of ['redis://localhost', 'sqlite:', 'Memory', '']) {
      expect(() => createSessionStore(url)).toThrow(
        `Unsupported session store URL ${JSON.stringify(url)}: use "memory", "sqlite:/absolute/path.db" or "sqlite::memory:".`,
      );
    }
  });
});

describe('sqlite read cache', () => {
  it('sees revocations and changes committed by another connection (another process) at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-cache-'));
    const filename = join(dir, 'sessions.db');
    let now = 1_000_000;
    const clock = () => now;
    const gateway = createSqliteStore({ filename, clock });
    const cli = createSqliteStore({ filename, clock });
    try {
      const record = makeRecord({ id: 'cached-id', userId: 'u1', createdAt: now, lastSeenAt: now, idleExpiresAt: now + 60_000, expiresAt: now + 120_000 });
      await gateway.set(record);
      expect(await gateway.get('cached-id')).toStrictEqual(record);
      expect(await gateway.get('cached-id')).toBe(await gateway.get('cached-id')); // served from the cache
      await cli.delete('cached-id');
      expect(await gateway.get('cached-id')).toBeNull();

      await gateway.set({ ...record, id: 'second' });
      expect((await gateway.get('second'))?.user.name).toBe(record.user.name);
      await cli.set({ ...record, id: 'second', user: { ...record.user, name: 'Changed Elsewhere' } });
      expect((await gateway.get('second'))?.user.name).toBe('Changed Elsewhere');
      await cli.deleteByUser('u1');
      expect(await gateway.get('second')).toBeNull();
      // Expiry still applies to cached records.
      await gateway.set({ ...record, id: 'third' });
      expect(await gateway.get('third')).not.toBeNull();
      now += 60_000;
      expect(await gateway.get('third')).toBeNull();
    } finally {
      await gateway.close();
      await cli.close();
    }
  });
});
