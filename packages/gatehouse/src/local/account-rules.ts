import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { AccountError, normalizeUsername, requireName, requireRoles, requireUsername, usernameProblem } from './account-fields.js';
import type { Account, AccountStore, AccountWithHash, NewAccount } from './account-types.js';
import { hashPassword, newPasswordProblem } from './passwords.js';

/**
 * The rules of an account store (validation, normalization, hashing, timestamps), written once
 * over a plain table that each backend (SQLite, PostgreSQL) supplies. A backend only stores and
 * fetches rows, so the two can never disagree on what a valid account is.
 */

/** One stored account, as every backend keeps it. */
export interface AccountRow {
  id: string;
  /** Normalized (see `normalizeUsername`); unique. */
  username: string;
  name: string | null;
  roles: string[];
  passwordHash: string;
  createdAt: number;
  updatedAt: number;
  passwordChangedAt: number;
}

/**
 * Storage only. Every method rejects with `StoreUnavailableError` when the backend cannot answer.
 * Usernames given to it are already normalized.
 */
export interface AccountTable {
  byUsername(username: string): Promise<AccountRow | undefined>;
  byId(id: string): Promise<AccountRow | undefined>;
  /** Every row, ordered by username, bytewise. */
  all(): Promise<AccountRow[]>;
  /** @throws AccountError `account_exists` when the username is taken (see {@link accountExists}). */
  insert(row: AccountRow): Promise<void>;
  /** True when a row was deleted. */
  remove(username: string): Promise<boolean>;
  /** True when a row was updated (false: it no longer exists). */
  updatePassword(username: string, passwordHash: string, now: number): Promise<boolean>;
  updateRoles(username: string, roles: string[], now: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The error for a username already taken, for a backend's unique-constraint violation. */
export function accountExists(): AccountError {
  return new AccountError('account_exists', 'An account with this username already exists.');
}

function notFound(): AccountError {
  return new AccountError('account_not_found', 'No account with this username.');
}

function toAccount(row: AccountRow): Account {
  const account: Account = {
    id: row.id,
    username: row.username,
    roles: [...row.roles],
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    passwordChangedAt: row.passwordChangedAt,
  };
  if (row.name !== null) account.name = row.name;
  return account;
}

function requirePassword(password: string, username: string): void {
  const problem = newPasswordProblem(password, username);
  if (problem) throw new AccountError('weak_password', problem);
}

/** An {@link AccountStore} over a backend's table. */
export function accountStoreOver(table: AccountTable, clock: Clock): AccountStore {
  async function mustFind(username: string): Promise<AccountRow> {
    const row = await table.byUsername(normalizeUsername(username));
    if (!row) throw notFound();
    return row;
  }

  return {
    async add({ username, password, roles, name }: NewAccount): Promise<Account> {
      // Cheap checks first; hashing (~50 ms, 19 MiB) only for an acceptable request.
      const normalized = requireUsername(username);
      const valid = { name: requireName(name) ?? null, roles: requireRoles(roles) };
      requirePassword(password, normalized);
      if (await table.byUsername(normalized)) throw accountExists();
      const passwordHash = await hashPassword(password);
      const now = clock();
      const row: AccountRow = {
        id: randomUUID(),
        username: normalized,
        ...valid,
        passwordHash,
        createdAt: now,
        updatedAt: now,
        passwordChangedAt: now,
      };
      // The unique constraint settles a race with a concurrent add (the table maps it to account_exists).
      await table.insert(row);
      return toAccount(row);
    },

    async findByUsername(username: string): Promise<AccountWithHash | null> {
      const normalized = normalizeUsername(username);
      if (usernameProblem(normalized)) return null;
      const row = await table.byUsername(normalized);
      return row ? { ...toAccount(row), passwordHash: row.passwordHash } : null;
    },

    async get(id: string): Promise<Account | null> {
      const row = await table.byId(String(id));
      return row ? toAccount(row) : null;
    },

    async list(): Promise<Account[]> {
      return (await table.all()).map(toAccount);
    },

    async remove(username: string): Promise<boolean> {
      return table.remove(normalizeUsername(username));
    },

    async setPassword(username: string, password: string): Promise<Account> {
      const existing = await mustFind(username);
      requirePassword(password, existing.username);
      const passwordHash = await hashPassword(password);
      const now = clock();
      // False: removed while we were hashing.
      if (!(await table.updatePassword(existing.username, passwordHash, now))) throw notFound();
      return toAccount({ ...existing, passwordHash, updatedAt: now, passwordChangedAt: now });
    },

    async setRoles(username: string, roles: string[]): Promise<Account> {
      const valid = requireRoles(roles);
      const existing = await mustFind(username);
      const now = clock();
      if (!(await table.updateRoles(existing.username, valid, now))) throw notFound();
      return toAccount({ ...existing, roles: valid, updatedAt: now });
    },

    close: () => table.close(),
  };
}
