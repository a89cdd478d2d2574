import { type Clock, systemClock } from '../../clock.js';
import { StoreUnavailableError } from '../../errors.js';
import type { PostgresDatabase } from '../postgres/pool.js';
import { purgeTable, schedulePurge } from '../postgres/purge.js';
import { deepFreeze } from '../../util/deep-freeze.js';
import { assembleRecord, type RecordRest, restOf } from './record-parts.js';
import { isLive, type SessionRecord, type SessionStore } from '../../session/model.js';

/** Options for {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /** The pool (see `openPostgresDatabase`). The store takes a share of it and releases it on close. */
  db: PostgresDatabase;
  /** Decides expiry. Defaults to the system clock; tests inject a fake one. */
  clock?: Clock;
  /** How often expired rows are purged, in ms. Default 60 000. */
  purgeIntervalMs?: number;
  /** Told about a failed background purge (a timer has no caller to throw to). */
  onPurgeError?: (error: unknown) => void;
}

/** The PostgreSQL store, plus the purge its timer runs (exposed for tests and operators). */
export interface PostgresSessionStore extends SessionStore {
  /** Delete every expired row now, in small batches. Resolves to how many rows were deleted. */
  purgeExpired(): Promise<number>;
}

interface Row {
  id: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  expires_at: number;
  record: Rest;
}

/** The fields not kept in their own column, stored as jsonb in `record`. */
type Rest = RecordRest;

const COLUMNS = 'id, user_id, created_at, last_seen_at, idle_expires_at, expires_at, record';

/**
 * PostgreSQL text cannot hold NUL. Session ids are hashes and never contain one, so such an id is
 * simply unknown: answering "not found" keeps a crafted `DELETE /auth/sessions/%00` a 404, not a 503.
 */
const impossible = (id: string): boolean => id.includes('\0');

/**
 * A session store in PostgreSQL: sessions are shared by every gateway instance and survive
 * restarts. Expiry is decided with the gateway's clock (the times in the rows are epoch ms), and
 * expired rows are purged in the background in small batches.
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresSessionStore {
  const { db } = options;
  const clock = options.clock ?? systemClock;
  const t = db.table('sessions');
  const release = db.retain();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new StoreUnavailableError(new Error('postgres session store is closed'));
  }

  async function query<R extends object>(text: string, values: unknown[]) {
    assertOpen();
    return db.query<R & Record<string, unknown>>(text, values);
  }

  async function purgeExpired(): Promise<number> {
    assertOpen();
    return purgeTable(db, 'sessions', 'id', 'least(idle_expires_at, expires_at)', clock());
  }

  const stopPurge = schedulePurge(purgeExpired, options.purgeIntervalMs ?? 60_000, options.onPurgeError);

  return {
    async get(id) {
      assertOpen();
      if (impossible(id)) return null;
      const now = clock();
      const { rows } = await query<Row>(
        `SELECT ${COLUMNS} FROM ${t} WHERE id = $1 AND idle_expires_at > $2 AND expires_at > $2`,
        [id, now],
      );
      const row = rows[0];
      if (!row) return null;
      const record = fromRow(row);
      return isLive(record, now) ? deepFreeze(record) : null;
    },

    async set(record) {
      const rest = restOf(record);
      await query(
        `INSERT INTO ${t} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at,
           last_seen_at = excluded.last_seen_at, idle_expires_at = excluded.idle_expires_at,
           expires_at = excluded.expires_at, record = excluded.record`,
        [
          record.id,
          record.userId,
          record.createdAt,
          record.lastSeenAt,
          record.idleExpiresAt,
          record.expiresAt,
          // Serialized here: pg would turn a top-level array into a PostgreSQL array, not JSON.
          JSON.stringify(rest),
        ],
      );
    },

    async update(record) {
      assertOpen();
      if (impossible(record.id) || impossible(record.userId)) return false;
      const rest = restOf(record);
      // One statement: only the same user's live row is replaced, so a session deleted or expired
      // meanwhile stays dead (a concurrent DELETE either commits first, leaving nothing to match,
      // or waits for this row lock and then deletes the updated row).
      const { rowCount } = await query(
        `UPDATE ${t} SET created_at = $1, last_seen_at = $2, idle_expires_at = $3, expires_at = $4, record = $5
         WHERE id = $6 AND user_id = $7 AND idle_expires_at > $8 AND expires_at > $8`,
        [
          record.createdAt,
          record.lastSeenAt,
          record.idleExpiresAt,
          record.expiresAt,
          JSON.stringify(rest),
          record.id,
          record.userId,
          clock(),
        ],
      );
      return rowCount === 1;
    },

    async touch(id, lastSeenAt, idleExpiresAt) {
      assertOpen();
      if (impossible(id)) return;
      const now = clock();
      // Only a live row is touched: an expired session stays dead even if a request raced its expiry.
      await query(
        `UPDATE ${t} SET last_seen_at = $1, idle_expires_at = $2
         WHERE id = $3 AND idle_expires_at > $4 AND expires_at > $4`,
        [lastSeenAt, idleExpiresAt, id, now],
      );
    },

    async delete(id) {
      assertOpen();
      if (impossible(id)) return;
      await query(`DELETE FROM ${t} WHERE id = $1`, [id]);
    },

    async deleteByUser(userId, exceptId) {
      assertOpen();
      if (impossible(userId)) return 0;
      // One statement, so the count and the deletion agree. Expired sessions go as well, but only
      // live ones count: they are what the user signed out.
      const { rows } = await query<{ live: number }>(
        `WITH gone AS (
           DELETE FROM ${t} WHERE user_id = $1 AND ($2::text IS NULL OR id <> $2)
           RETURNING idle_expires_at, expires_at
         )
         SELECT count(*) FILTER (WHERE idle_expires_at > $3 AND expires_at > $3) AS live FROM gone`,
        [userId, exceptId === undefined || impossible(exceptId) ? null : exceptId, clock()],
      );
      return rows[0]?.live ?? 0;
    },

    async listByUser(userId) {
      assertOpen();
      if (impossible(userId)) return [];
      const now = clock();
      const { rows } = await query<Row>(
        `SELECT ${COLUMNS} FROM ${t} WHERE user_id = $1 AND idle_expires_at > $2 AND expires_at > $2
         ORDER BY created_at DESC, id ASC`,
        [userId, now],
      );
      return rows.map((row) => deepFreeze(fromRow(row)));
    },

    async ping() {
      await query('SELECT 1', []);
    },

    async countLive() {
      // Same expression as the expiry index, so this is a range scan of that index (index-only
      // once vacuumed), not a read of every record.
      const { rows } = await query<{ n: number }>(
        `SELECT count(*) AS n FROM ${t} WHERE least(idle_expires_at, expires_at) > $1`,
        [clock()],
      );
      return rows[0]?.n ?? 0;
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

function fromRow(row: Row): SessionRecord {
  const columns = { id: row.id, userId: row.user_id, createdAt: row.created_at, lastSeenAt: row.last_seen_at, idleExpiresAt: row.idle_expires_at, expiresAt: row.expires_at };
  return assembleRecord(columns, row.record);
}
