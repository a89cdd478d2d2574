import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { preparePrivateFile } from './private-file.js';
import { type Clock, systemClock } from '../../clock.js';
import { BootError, StoreUnavailableError } from '../../errors.js';
import { assembleRecord, type RecordRest, restOf } from './record-parts.js';
import { createSqliteRevocations, type SqliteRevocationList } from '../revocations/sqlite.js';
import { isLive, type SessionRecord, type SessionStore } from '../../session/model.js';
import { deepFreeze } from '../../util/deep-freeze.js';

/** Options for {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Path of the database file, or `:memory:` for a private in-memory database (tests). */
  filename: string;
  /** Decides expiry. Defaults to the system clock; tests inject a fake one. */
  clock?: Clock;
  /** Table name (letters, digits, `_`). Default `gatehouse_sessions`. */
  table?: string;
  /** How often expired rows are purged, in ms. Default 60 000. */
  purgeIntervalMs?: number;
  /** How long to wait on a lock held by another connection before failing, in ms. Default 5 000. */
  busyTimeoutMs?: number;
  /** Told about a failed background purge (a timer has no caller to throw to). */
  onPurgeError?: (error: unknown) => void;
}

/** The SQLite store, plus the purge its timer runs (exposed so tests and the CLI can trigger it). */
export interface SqliteSessionStore extends SessionStore {
  /** Delete every expired row now, in small batches. Returns how many rows were deleted. */
  purgeExpired(): number;
  /** The cookie-mode revocation list in this store's database, over its connection (so `:memory:` works too); one per store, closed with it. */
  revocations(): SqliteRevocationList;
}

interface Row {
  id: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  expires_at: number;
  record: string;
}

/** The columns that are not kept in their own column, stored as JSON in `record`. */
type Rest = RecordRest;

// Rows per purge statement: each batch is its own short write transaction, so other
// connections to the same file (local accounts) never wait behind one long delete.
const PURGE_BATCH = 500;

/**
 * A session store in a SQLite file: sessions survive a restart of a single Gatehouse instance.
 *
 * Opened in WAL mode so readers never block the writer, and so the same file can hold other
 * tables (local accounts) written through another connection.
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteSessionStore {
  const clock = options.clock ?? systemClock;
  const table = options.table ?? 'gatehouse_sessions';
  // The name is spliced into SQL, so it must be a plain identifier. Config validation should
  // have refused anything else; this is the last guard.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) {
    throw new BootError('GH_STORE_OPTIONS_INVALID', `sqlite session store: table name ${JSON.stringify(table)} must match [A-Za-z_][A-Za-z0-9_]*`);
  }
  const db = open(options.filename, table, options.busyTimeoutMs ?? 5_000);
  const t = `"${table}"`;

  const stmt = {
    get: db.prepare<unknown[], Row>(`SELECT * FROM ${t} WHERE id = ?`),
    dropIfExpired: db.prepare(`DELETE FROM ${t} WHERE id = ? AND (idle_expires_at <= ? OR expires_at <= ?)`),
    upsert: db.prepare(
      `INSERT INTO ${t} (id, user_id, created_at, last_seen_at, idle_expires_at, expires_at, record)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at,
         last_seen_at = excluded.last_seen_at, idle_expires_at = excluded.idle_expires_at,
         expires_at = excluded.expires_at, record = excluded.record`,
    ),
    // Only the same user's live row is replaced: a session deleted or expired meanwhile stays dead.
    update: db.prepare(
      `UPDATE ${t} SET created_at = ?, last_seen_at = ?, idle_expires_at = ?, expires_at = ?, record = ?
       WHERE id = ? AND user_id = ? AND idle_expires_at > ? AND expires_at > ?`,
    ),
    // Only a live row is touched: an expired session stays dead even if a request raced its expiry.
    touch: db.prepare(
      `UPDATE ${t} SET last_seen_at = ?, idle_expires_at = ? WHERE id = ? AND idle_expires_at > ? AND expires_at > ?`,
    ),
    delete: db.prepare(`DELETE FROM ${t} WHERE id = ?`),
    // `id IS NOT NULL` is always true, so a null exceptId spares nothing.
    deleteLiveByUser: db.prepare(
      `DELETE FROM ${t} WHERE user_id = ? AND id IS NOT ? AND idle_expires_at > ? AND expires_at > ?`,
    ),
    deleteAllByUser: db.prepare(`DELETE FROM ${t} WHERE user_id = ? AND id IS NOT ?`),
    list: db.prepare<unknown[], Row>(
      `SELECT * FROM ${t} WHERE user_id = ? AND idle_expires_at > ? AND expires_at > ?
       ORDER BY created_at DESC, id ASC`,
    ),
    purgeBatch: db.prepare(
      `DELETE FROM ${t} WHERE rowid IN
         (SELECT rowid FROM ${t} WHERE idle_expires_at <= ? OR expires_at <= ? LIMIT ${PURGE_BATCH})`,
    ),
    ping: db.prepare('SELECT 1'),
    countLive: db.prepare<[number, number], number>(`SELECT COUNT(*) FROM ${t} WHERE idle_expires_at > ? AND expires_at > ?`).pluck(),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
  };

  const deleteByUser = db.transaction((userId: string, exceptId: string | null, now: number): number => {
    // Only live sessions count (they are what the user signed out); expired ones go as well.
    const live = stmt.deleteLiveByUser.run(userId, exceptId, now, now).changes;
    stmt.deleteAllByUser.run(userId, exceptId);
    return live;
  });

  let closed = false;
  let revocations: SqliteRevocationList | undefined;

  /*
   * Read cache: parsed, frozen records by id, so the per-request read is a map lookup. It stays
   * exact across processes: PRAGMA data_version changes whenever another connection (a second
   * gateway, `gatehouse users passwd`) commits, and then the whole cache is dropped. Writes through
   * this connection (which do not change data_version) update the cache themselves.
   */
  const cache = new Map<string, SessionRecord>();
  let cacheVersion = -1;
  const CACHE_MAX = 10_000;
  function validateCache(): void {
    const version = stmt.dataVersion.get() as number;
    if (version !== cacheVersion) {
      cache.clear();
      cacheVersion = version;
    }
  }
  function remember(record: SessionRecord): void {
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(record.id, record);
  }

  /** Runs one database operation, turning an unavailable backend into StoreUnavailableError. */
  function guard<T>(operation: () => T): T {
    if (closed) throw new StoreUnavailableError(new Error('sqlite session store is closed'));
    try {
      return operation();
    } catch (error) {
      if (isUnavailable(error, db)) throw new StoreUnavailableError(error);
      throw error;
    }
  }

  function purgeExpired(): number {
    let total = 0;
    for (;;) {
      const deleted = purgeOnce();
      total += deleted;
      if (deleted < PURGE_BATCH) return total;
    }
  }

  function purgeOnce(): number {
    return guard(() => {
      const now = clock();
      return stmt.purgeBatch.run(now, now).changes;
    });
  }

  let purging = false;
  async function backgroundPurge(): Promise<void> {
    if (purging) return;
    purging = true;
    try {
      // Yield to the event loop between batches so a large backlog never stalls requests.
      while (!closed && purgeOnce() === PURGE_BATCH) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      options.onPurgeError?.(error);
    } finally {
      purging = false;
    }
  }

  const timer = setInterval(() => void backgroundPurge(), options.purgeIntervalMs ?? 60_000);
  // The purge is housekeeping: it must never keep the process alive on its own.
  timer.unref();

  return {
    async get(id) {
      return guard(() => {
        validateCache();
        const now = clock();
        const hit = cache.get(id);
        if (hit && isLive(hit, now)) return hit;
        cache.delete(id);
        const row = stmt.get.get(id);
        if (!row) return null;
        if (now < row.idle_expires_at && now < row.expires_at) {
          const record = deepFreeze(fromRow(row));
          remember(record);
          return record;
        }
        stmt.dropIfExpired.run(id, now, now);
        return null;
      });
    },

    async set(record) {
      const rest = restOf(record);
      const json = JSON.stringify(rest);
      cache.delete(record.id);
      guard(() =>
        stmt.upsert.run(
          record.id,
          record.userId,
          record.createdAt,
          record.lastSeenAt,
          record.idleExpiresAt,
          record.expiresAt,
          json,
        ),
      );
    },

    async update(record) {
      const rest = restOf(record);
      const json = JSON.stringify(rest);
      cache.delete(record.id);
      return guard(() => {
        const now = clock();
        const { changes } = stmt.update.run(
          record.createdAt,
          record.lastSeenAt,
          record.idleExpiresAt,
          record.expiresAt,
          json,
          record.id,
          record.userId,
          now,
          now,
        );
        return changes === 1;
      });
    },

    async touch(id, lastSeenAt, idleExpiresAt) {
      guard(() => {
        const now = clock();
        stmt.touch.run(lastSeenAt, idleExpiresAt, id, now, now);
        const hit = cache.get(id);
        if (hit) cache.set(id, Object.freeze({ ...hit, lastSeenAt, idleExpiresAt }));
      });
    },

    async delete(id) {
      cache.delete(id);
      guard(() => stmt.delete.run(id));
    },

    async deleteByUser(userId, exceptId) {
      for (const [id, record] of cache) if (record.userId === userId && id !== exceptId) cache.delete(id);
      return guard(() => deleteByUser(userId, exceptId ?? null, clock()));
    },

    async listByUser(userId) {
      return guard(() => {
        const now = clock();
        return stmt.list.all(userId, now, now).map(fromRow);
      });
    },

    async ping() {
      guard(() => stmt.ping.get());
    },

    async countLive() {
      // A range over an expiry index, at scrape time only; rows the purge has not reached yet are excluded.
      return guard(() => {
        const now = clock();
        return stmt.countLive.get(now, now) as number;
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await revocations?.close();
      db.close();
    },

    purgeExpired,

    revocations() {
      return guard(() => (revocations ??= createSqliteRevocations({
          db,
          guard,
          clock,
          purgeIntervalMs: options.purgeIntervalMs,
          onPurgeError: options.onPurgeError,
          // A private in-memory database forgets its revocations with the process, like the memory list.
          epoch: options.filename === ':memory:' || options.filename === '' ? randomUUID() : undefined,
        })));
    },
  };
}

function open(filename: string, table: string, busyTimeoutMs: number): Database.Database {
  const inMemory = filename === ':memory:' || filename === '';
  let db: Database.Database | undefined;
  try {
    if (!inMemory && !filename.startsWith('file:')) preparePrivateFile(filename);
    db = new Database(filename, { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    // NORMAL is safe in WAL mode (no corruption on power loss; at worst the last commits roll back).
    db.pragma('synchronous = NORMAL');
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS "${table}" (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        idle_expires_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        record TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS "${table}_user_id" ON "${table}" (user_id);
      CREATE INDEX IF NOT EXISTS "${table}_idle_expires_at" ON "${table}" (idle_expires_at);
      CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON "${table}" (expires_at);
    `);
    return db;
  } catch (error) {
    db?.close();
    // At start-up this is misconfiguration (bad path, no permission): say which file.
    throw new BootError('GH_STORE_OPEN_FAILED', `sqlite session store: cannot open ${filename}: ${(error as Error).message}`, { cause: error });
  }
}

function fromRow(row: Row): SessionRecord {
  const columns = { id: row.id, userId: row.user_id, createdAt: row.created_at, lastSeenAt: row.last_seen_at, idleExpiresAt: row.idle_expires_at, expiresAt: row.expires_at };
  return assembleRecord(columns, JSON.parse(row.record) as Rest);
}

// Result codes that mean our own SQL or arguments are wrong. Reporting those as "store
// unavailable" would hide a bug behind a retryable 503, so they are rethrown as they are.
const PROGRAMMING_ERRORS = ['SQLITE_ERROR', 'SQLITE_MISUSE', 'SQLITE_RANGE', 'SQLITE_MISMATCH', 'SQLITE_CONSTRAINT', 'SQLITE_TOOBIG'];

/**
 * Whether an error means the database cannot serve us (busy, locked, I/O, full, corrupt,
 * closed underneath us) rather than a bug in this file. Either way the request fails closed.
 */
function isUnavailable(error: unknown, db: Database.Database): boolean {
  // better-sqlite3 reports a closed connection as a TypeError, not a SqliteError.
  if (!db.open) return true;
  if (!(error instanceof Database.SqliteError)) return false;
  const code = error.code;
  return !PROGRAMMING_ERRORS.some((base) => code === base || code.startsWith(`${base}_`));
}

