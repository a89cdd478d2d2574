import { type Clock, systemClock } from '../clock.js';
import { StoreUnavailableError } from '../errors.js';
import type { PostgresDatabase } from '../backends/postgres/pool.js';
import { type AccountRow, type AccountTable, accountExists, accountStoreOver } from './account-rules.js';
import type { AccountStore } from './account-types.js';

/** Options for {@link createPostgresAccountStore}. */
export interface PostgresAccountStoreOptions {
  /** The pool (see `openPostgresDatabase`). The store takes a share of it and releases it on close. */
  db: PostgresDatabase;
  clock?: Clock | undefined;
}

interface Row {
  id: string;
  username: string;
  name: string | null;
  roles: string[];
  password_hash: string;
  created_at: number;
  updated_at: number;
  password_changed_at: number;
}

const UNIQUE_VIOLATION = '23505';

function fromRow(row: Row): AccountRow {
  return {
    id: row.id,
    username: row.username,
    name: row.name,
    roles: row.roles,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    passwordChangedAt: row.password_changed_at,
  };
}

/**
 * PostgreSQL text cannot hold NUL. No stored username or id contains one (usernames refuse control
 * characters, ids are UUIDs), so such a lookup is simply "not found", never a 503.
 */
const impossible = (value: string): boolean => value.includes('\0');

/**
 * The account store in PostgreSQL (`<schema>.accounts`), for deployments whose gateways share
 * one database. Same rules as the SQLite store (`account-rules.ts`); this file only stores rows.
 */
export function createPostgresAccountStore({ db, clock = systemClock }: PostgresAccountStoreOptions): AccountStore {
  const t = db.table('accounts');
  const release = db.retain();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new StoreUnavailableError(new Error('postgres account store is closed'));
  }

  async function query(text: string, values: unknown[] = []) {
    assertOpen();
    try {
      return await db.query<Row & Record<string, unknown>>(text, values);
    } catch (error) {
      // The unique index settles a race between two adds of the same username.
      if (error instanceof StoreUnavailableError && (error.cause as { code?: unknown } | undefined)?.code === UNIQUE_VIOLATION) {
        throw accountExists();
      }
      throw error;
    }
  }

  async function one(text: string, key: string): Promise<AccountRow | undefined> {
    assertOpen();
    if (impossible(key)) return undefined;
    const row = (await query(text, [key])).rows[0];
    return row && fromRow(row);
  }

  const table: AccountTable = {
    byUsername: (username) => one(`SELECT * FROM ${t} WHERE username = $1`, username),
    byId: (id) => one(`SELECT * FROM ${t} WHERE id = $1`, id),
    async all() {
      // The column is COLLATE "C": bytewise order, as in SQLite, whatever the database's locale.
      return (await query(`SELECT * FROM ${t} ORDER BY username`)).rows.map(fromRow);
    },
    async insert(row) {
      await query(
        `INSERT INTO ${t} (id, username, name, roles, password_hash, created_at, updated_at, password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          row.id,
          row.username,
          row.name,
          JSON.stringify(row.roles),
          row.passwordHash,
          row.createdAt,
          row.updatedAt,
          row.passwordChangedAt,
        ],
      );
    },
    async remove(username) {
      assertOpen();
      if (impossible(username)) return false;
      return ((await query(`DELETE FROM ${t} WHERE username = $1`, [username])).rowCount ?? 0) > 0;
    },
    async updatePassword(username, passwordHash, now) {
      const { rowCount } = await query(
        `UPDATE ${t} SET password_hash = $1, updated_at = $2, password_changed_at = $2 WHERE username = $3`,
        [passwordHash, now, username],
      );
      return (rowCount ?? 0) > 0;
    },
    async updateRoles(username, roles, now) {
      const { rowCount } = await query(`UPDATE ${t} SET roles = $1, updated_at = $2 WHERE username = $3`, [
        JSON.stringify(roles),
        now,
        username,
      ]);
      return (rowCount ?? 0) > 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      await release();
    },
  };
  return accountStoreOver(table, clock);
}
