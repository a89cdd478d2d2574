import type Database from 'better-sqlite3';
import { type Clock, systemClock } from '../../clock.js';
import { BootError, StoreUnavailableError } from '../../errors.js';
import type { RevocationList } from '../../session/model.js';
import { assertUntil } from './until.js';

/** The table, in the session store's database file. */
export const REVOCATIONS_TABLE = 'gatehouse_revoked_sessions';

/** Options for {@link createSqliteRevocations}. */
export interface SqliteRevocationsOptions {
  /** The session store's open connection. Borrowed: the store closes it. */
  db: Database.Database;
  /**
   * Runs one database operation as the store does: StoreUnavailableError once the store is
   * closed or the database cannot serve, anything else (a bug) as it is.
   */
  guard: <T>(operation: () => T) => T;
  /** Decides expiry. Defaults to the system clock; tests inject a fake one. */
  clock?: Clock;
  /** How often expired rows are purged, in ms. Default 60 000. */
  purgeIntervalMs?: number;
  /** Set for a database that dies with the process (`sqlite::memory:`): see RevocationList.epoch. */
  epoch?: string | undefined;
  /** Told about a failed background purge (a timer has no caller to throw to). */
  onPurgeError?: (error: unknown) => void;
}

/** The SQLite list, plus the purge its timer runs (exposed so tests can trigger it). */
export interface SqliteRevocationList extends RevocationList {
  /** Delete every expired row now, in small batches. Returns how many rows were deleted. */
  purgeExpired(): number;
}

// Rows per purge statement: each batch is a short write transaction, as in the session store.
const PURGE_BATCH = 500;

/**
 * Revoked session ids in a table of the SQLite session store's file: durable, so a restart never
 * brings a revoked cookie-mode session back, and seen at once by every process on the file (each
 * check is one primary-key read, no cache). Expired rows count as absent at once; a background
 * purge on an unref'd timer only reclaims the space.
 */
export function createSqliteRevocations(options: SqliteRevocationsOptions): SqliteRevocationList {
  const { db, guard } = options;
  const clock = options.clock ?? systemClock;
  const t = `"${REVOCATIONS_TABLE}"`;
  try {
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${t} (id TEXT PRIMARY KEY, until INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS "${REVOCATIONS_TABLE}_until" ON ${t} (until);
    `);
  } catch (error) {
    throw new BootError('GH_STORE_OPEN_FAILED', `sqlite revocation list: cannot create ${REVOCATIONS_TABLE}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  const stmt = {
    // INSERT OR REPLACE that keeps the later expiry: a second revoke never shortens the first.
    revoke: db.prepare(`INSERT INTO ${t} (id, until) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET until = max(until, excluded.until)`),
    isRevoked: db.prepare<[string, number], number>(`SELECT 1 FROM ${t} WHERE id = ? AND until > ?`).pluck(),
    purgeBatch: db.prepare(`DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE until <= ? LIMIT ${PURGE_BATCH})`),
  };

  let closed = false;

  function run<T>(operation: () => T): T {
    if (closed) throw new StoreUnavailableError(new Error('sqlite revocation list is closed'));
    return guard(operation);
  }

  function purgeOnce(): number {
    return run(() => stmt.purgeBatch.run(clock()).changes);
  }

  function purgeExpired(): number {
    let total = 0;
    for (;;) {
      const deleted = purgeOnce();
      total += deleted;
      if (deleted < PURGE_BATCH) return total;
    }
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
    ...(options.epoch !== undefined ? { epoch: options.epoch } : {}),
    async revoke(id, until) {
      assertUntil(until);
      run(() => {
        // Already over: the cookie it guards has expired too, so nothing is written.
        if (until > clock()) stmt.revoke.run(id, until);
      });
    },

    async isRevoked(id) {
      return run(() => stmt.isRevoked.get(id, clock()) === 1);
    },

    async close() {
      // The connection belongs to the session store, which closes it.
      closed = true;
      clearInterval(timer);
    },

    purgeExpired,
  };
}
