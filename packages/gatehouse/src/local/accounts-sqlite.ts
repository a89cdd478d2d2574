import { randomUUID } from 'node:crypto';
import { preparePrivateFile } from '../stores/private-file.js';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { type Clock, systemClock } from '../clock.js';
import { GatehouseError, StoreUnavailableError } from '../errors.js';
import { AccountError, normalizeUsername, requireName, requireRoles, requireUsername, usernameProblem } from './account-fields.js';
import type { Account, AccountStore, AccountWithHash, NewAccount } from './accounts.js';
import { hashPassword, newPasswordProblem } from './passwords.js';

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

function toAccount(row: Row): Account {
  const account: Account = {
    id: row.id,
    username: row.username,
    roles: JSON.parse(row.roles) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    passwordChangedAt: row.password_changed_at,
  };
  if (row.name !== null) account.name = row.name;
  return account;
}

function requirePassword(password: string, username: string): void {
  const problem = newPasswordProblem(password, username);
  if (problem) throw new AccountError('weak_password', problem);
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
 * A database error other than a duplicate username surfaces as `StoreUnavailableError`.
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
  const updateRoles = db.prepare(
    'UPDATE gatehouse_accounts SET roles = ?, updated_at = ? WHERE username = ?',
  );

  function sql<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof AccountError || err instanceof GatehouseError) throw err;
      if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new AccountError('account_exists', 'An account with this username already exists.');
      }
      throw new StoreUnavailableError(err);
    }
  }

  function find(normalized: string): Row | undefined {
    return sql(() => byUsername.get(normalized) as Row | undefined);
  }

  function mustFind(username: string): Row {
    const row = find(normalizeUsername(username));
    if (!row) throw new AccountError('account_not_found', 'No account with this username.');
    return row;
  }

  return {
    async add({ username, password, roles, name }: NewAccount): Promise<Account> {
      // Cheap checks first; hashing (~50 ms, 19 MiB) only for an acceptable request.
      const normalized = requireUsername(username);
      const row: Omit<Row, 'password_hash' | 'created_at' | 'updated_at' | 'password_changed_at'> = {
        id: randomUUID(),
        username: normalized,
        name: requireName(name) ?? null,
        roles: JSON.stringify(requireRoles(roles)),
      };
      requirePassword(password, normalized);
      if (find(normalized)) throw new AccountError('account_exists', 'An account with this username already exists.');
      const passwordHash = await hashPassword(password);
      const now = clock();
      const full: Row = { ...row, password_hash: passwordHash, created_at: now, updated_at: now, password_changed_at: now };
      // The UNIQUE constraint settles a race with a concurrent add (mapped to account_exists).
      sql(() => insert.run(full));
      return toAccount(full);
    },

    async findByUsername(username: string): Promise<AccountWithHash | null> {
      const normalized = normalizeUsername(username);
      if (usernameProblem(normalized)) return null;
      const row = find(normalized);
      return row ? { ...toAccount(row), passwordHash: row.password_hash } : null;
    },

    async get(id: string): Promise<Account | null> {
      const row = sql(() => byId.get(String(id)) as Row | undefined);
      return row ? toAccount(row) : null;
    },

    async list(): Promise<Account[]> {
      return sql(() => all.all() as Row[]).map(toAccount);
    },

    async remove(username: string): Promise<boolean> {
      return sql(() => del.run(normalizeUsername(username))).changes > 0;
    },

    async setPassword(username: string, password: string): Promise<Account> {
      const existing = mustFind(username);
      requirePassword(password, existing.username);
      const passwordHash = await hashPassword(password);
      const now = clock();
      const { changes } = sql(() => updatePassword.run(passwordHash, now, now, existing.username));
      // Removed while we were hashing.
      if (changes === 0) throw new AccountError('account_not_found', 'No account with this username.');
      return toAccount({ ...existing, password_hash: passwordHash, updated_at: now, password_changed_at: now });
    },

    async setRoles(username: string, roles: string[]): Promise<Account> {
      const valid = JSON.stringify(requireRoles(roles));
      const existing = mustFind(username);
      const now = clock();
      sql(() => updateRoles.run(valid, now, existing.username));
      return toAccount({ ...existing, roles: valid, updated_at: now });
    },

    async close(): Promise<void> {
      if (db.open) db.close();
    },
  };
}
