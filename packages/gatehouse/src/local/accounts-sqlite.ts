import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { type Clock, systemClock } from '../clock.js';
import { GatehouseError, StoreUnavailableError } from '../errors.js';
import { preparePrivateFile } from '../backends/stores/private-file.js';
import { AccountError } from './account-fields.js';
import { type AccountRow, type AccountTable, accountExists, accountStoreOver } from './account-rules.js';
import type { AccountStore } from './account-types.js';

export interface SqliteAccountStoreOptions {
  /** A file path (its directory is created) or `:memory:`. May be the file the session store uses. */
  filename: string;
  clock?: Clock | undefined;
}

interface Row {
  id: string;
  username: string;
  name: string | null;
  roles: string;
  password_hash: string;
  created_at: number;
  updated_at: number;
  password_changed_at: number;
}

// The table is ours alone; the same database file may hold the session store's tables.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS gatehouse_accounts (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  name TEXT,
  roles TEXT NOT NULL DEFAULT '[]',
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  password_changed_at INTEGER NOT NULL
) STRICT`;

function fromRow(row: Row): AccountRow {
  return {
    id: row.id,
    username: row.username,
    name: row.name,
    roles: JSON.parse(row.roles) as string[],
    passwordHash: row.password_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    passwordChangedAt: row.password_changed_at,
  };
}

function open(filename: string): Database.Database {
  if (filename !== ':memory:') {
    // The file holds password hashes: owner-only, whichever module created it first.
    preparePrivateFile(resolve(filename));
  }
  const db = new Database(filename);
  if (filename !== ':memory:') db.pragma('journal_mode = WAL');
  // Another module writes to the same file: wait for its lock instead of failing at once.
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  return db;
}

/**
 * The SQLite account store (better-sqlite3). Synchronous underneath, async at the interface.
 * The account rules live in `account-rules.ts`; this file only stores rows. A database error
 * other than a duplicate username surfaces as `StoreUnavailableError`.
 */
export function createSqliteAccountStore({ filename, clock = systemClock }: SqliteAccountStoreOptions): AccountStore {
  const db = open(filename);
  const byUsername = db.prepare('SELECT * FROM gatehouse_accounts WHERE username = ?');
  const byId = db.prepare('SELECT * FROM gatehouse_accounts WHERE id = ?');
  const all = db.prepare('SELECT * FROM gatehouse_accounts ORDER BY username');
  const insert = db.prepare(
    `INSERT INTO gatehouse_accounts (id, username, name, roles, password_hash, created_at, updated_at, password_changed_at)
     VALUES (@id, @username, @name, @roles, @password_hash, @created_at, @updated_at, @password_changed_at)`,
  );
  const del = db.prepare('DELETE FROM gatehouse_accounts WHERE username = ?');
  const updatePassword = db.prepare(
    'UPDATE gatehouse_accounts SET password_hash = ?, updated_at = ?, password_changed_at = ? WHERE username = ?',
  );
  const updateRoles = db.prepare('UPDATE gatehouse_accounts SET roles = ?, updated_at = ? WHERE username = ?');

  function sql<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof AccountError || err instanceof GatehouseError) throw err;
      if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE') throw accountExists();
      throw new StoreUnavailableError(err);
    }
  }

  const table: AccountTable = {
    async byUsername(username) {
      const row = sql(() => byUsername.get(username) as Row | undefined);
      return row && fromRow(row);
    },
    async byId(id) {
      const row = sql(() => byId.get(id) as Row | undefined);
      return row && fromRow(row);
    },
    async all() {
      return sql(() => all.all() as Row[]).map(fromRow);
    },
    async insert(row) {
      sql(() =>
        insert.run({
          id: row.id,
          username: row.username,
          name: row.name,
          roles: JSON.stringify(row.roles),
          password_hash: row.passwordHash,
          created_at: row.createdAt,
          updated_at: row.updatedAt,
          password_changed_at: row.passwordChangedAt,
        }),
      );
    },
    async remove(username) {
      return sql(() => del.run(username)).changes > 0;
    },
    async updatePassword(username, passwordHash, now) {
      return sql(() => updatePassword.run(passwordHash, now, now, username)).changes > 0;
    },
    async updateRoles(username, roles, now) {
      return sql(() => updateRoles.run(JSON.stringify(roles), now, username)).changes > 0;
    },
    async close() {
      if (db.open) db.close();
    },
  };
  return accountStoreOver(table, clock);
}
