import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../../clock.js';
import { StoreUnavailableError } from '../../errors.js';
import type { ThrottleBackend, ThrottleEntry } from './throttle-types.js';
import { recordFailureStatement, recordFailureValues, toOutcome } from './throttle-postgres.js';
import type { PostgresDatabase } from '../postgres/pool.js';
import { purgeTable, schedulePurge } from '../postgres/purge.js';
import type { Coordination, Lock } from './types.js';

/** Options for {@link createPostgresCoordination}. */
export interface PostgresCoordinationOptions {
  /** The pool (usually the session store's). A share is taken and released on close. */
  db: PostgresDatabase;
  /** Decides every expiry, as in the session store. Tests inject a fake one. */
  clock?: Clock;
  /** How often expired rows are purged, in ms. Default 60 000. */
  purgeIntervalMs?: number;
  /** Told about a failed background purge. */
  onPurgeError?: (error: unknown) => void;
}

/** The PostgreSQL coordination backend, plus the purge its timer runs. */
export interface PostgresCoordination extends Coordination {
  /** Delete expired throttle entries, locks, marks and values now. Resolves to the rows deleted. */
  purgeExpired(): Promise<number>;
}

/** The tables that hold expiring coordination state, each keyed by `key`. */
const TABLES = ['throttle', 'locks', 'once_marks', 'kv'] as const;

/**
 * Coordination state in PostgreSQL, so every instance sharing the session store agrees on throttle
 * counters, locks, one-time marks and small values. Each operation is one statement: atomic
 * without explicit transactions, and expiry is judged with the gateway's clock (epoch ms).
 * An expired row counts as absent at once; the background purge only reclaims the space.
 */
export function createPostgresCoordination(options: PostgresCoordinationOptions): PostgresCoordination {
  const { db } = options;
  const clock = options.clock ?? systemClock;
  const release = db.retain();
  let closed = false;
  const table = {
    throttle: db.table('throttle'),
    locks: db.table('locks'),
    marks: db.table('once_marks'),
    kv: db.table('kv'),
  };

  const recordFailure = recordFailureStatement(table.throttle);

  async function query<R extends object>(text: string, values: unknown[]) {
    if (closed) throw new StoreUnavailableError(new Error('postgres coordination is closed'));
    return db.query<R & Record<string, unknown>>(text, values);
  }

  const throttle: ThrottleBackend = {
    async get(key) {
      const { rows } = await query<{ entry: ThrottleEntry }>(
        `SELECT entry FROM ${table.throttle} WHERE key = $1 AND expires_at > $2`,
        [key, clock()],
      );
      return rows[0]?.entry;
    },
    async recordFailure(key, rule) {
      const { rows } = await query<{ locked: boolean }>(recordFailure, recordFailureValues(key, rule, clock()));
      return toOutcome(rows);
    },
    async set(key, entry, expiresAt) {
      await query(
        `INSERT INTO ${table.throttle} (key, entry, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET entry = excluded.entry, expires_at = excluded.expires_at`,
        [key, JSON.stringify(entry), expiresAt],
      );
    },
    async delete(key) {
      await query(`DELETE FROM ${table.throttle} WHERE key = $1`, [key]);
    },
  };

  async function purgeExpired(): Promise<number> {
    if (closed) throw new StoreUnavailableError(new Error('postgres coordination is closed'));
    const now = clock();
    let total = 0;
    for (const name of TABLES) total += await purgeTable(db, name, 'key', 'expires_at', now);
    return total;
  }

  const stopPurge = schedulePurge(purgeExpired, options.purgeIntervalMs ?? 60_000, options.onPurgeError);

  return {
    throttle,

    async tryLock(key, ttlMs): Promise<Lock | null> {
      // A random owner token: release() deletes the row only while it is still ours, so a holder
      // that outlived its TTL cannot free the lock someone else has taken since.
      const owner = randomUUID();
      const now = clock();
      // Insert, or take over a row whose TTL has passed; a live row makes the WHERE false and
      // nothing is returned. The row lock serializes concurrent takers on the same key.
      const { rowCount } = await query(
        `INSERT INTO ${table.locks} (key, owner, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE ${table.locks}.expires_at <= $4
         RETURNING owner`,
        [key, owner, now + ttlMs, now],
      );
      if (rowCount !== 1) return null;
      return {
        release: async () => {
          await query(`DELETE FROM ${table.locks} WHERE key = $1 AND owner = $2`, [key, owner]);
        },
      };
    },

    async claimOnce(key, ttlMs) {
      const now = clock();
      const { rowCount } = await query(
        `INSERT INTO ${table.marks} (key, expires_at) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
         WHERE ${table.marks}.expires_at <= $3`,
        [key, now + ttlMs, now],
      );
      return rowCount === 1;
    },

    async put(key, value, ttlMs) {
      await query(
        `INSERT INTO ${table.kv} (key, value, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
        [key, value, clock() + ttlMs],
      );
    },

    async get(key) {
      const { rows } = await query<{ value: string }>(`SELECT value FROM ${table.kv} WHERE key = $1 AND expires_at > $2`, [
        key,
        clock(),
      ]);
      return rows[0]?.value ?? null;
    },

    async close() {
      if (closed) return;
      closed = true;
      stopPurge();
      await release();
    },

    purgeExpired,
  };
}
