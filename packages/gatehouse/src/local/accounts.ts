import { isAbsolute, resolve } from 'node:path';
import type { Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { isPostgresUrl, openPostgresDatabase, type PostgresOptions } from '../postgres/pool.js';
import { createPostgresAccountStore } from './accounts-postgres.js';
import { createSqliteAccountStore } from './accounts-sqlite.js';

/**
 * The local account store contract. Accounts are looked up by their normalized username (see
 * `normalizeUsername`): every method accepts the username as typed.
 */

export { AccountError, type AccountErrorCode } from './account-fields.js';
export { createPostgresAccountStore, type PostgresAccountStoreOptions } from './accounts-postgres.js';
export { createSqliteAccountStore, type SqliteAccountStoreOptions } from './accounts-sqlite.js';

/** A local account as shown to operators and the session. Never carries the password hash. */
export interface Account {
  /** Random UUID; stable across renames. Used as the session's user id. */
  id: string;
  /** Normalized: trimmed, NFKC, lower case. */
  username: string;
  name?: string;
  roles: string[];
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
  passwordChangedAt: number;
}

/** An account with its argon2id PHC hash: only for the sign-in path. */
export interface AccountWithHash extends Account {
  passwordHash: string;
}

export interface NewAccount {
  username: string;
  password: string;
  roles?: string[];
  name?: string;
}

/**
 * Every method is async, like the session store, so a networked backend can implement it.
 * Validation failures throw {@link AccountError}; an unreachable backend throws
 * `StoreUnavailableError` (503, fail closed).
 */
export interface AccountStore {
  /**
   * Creates an account, hashing the password.
   * @throws AccountError `account_exists`, `invalid_username`, `invalid_name`, `invalid_role`, `weak_password`
   * @throws GatehouseError `payload_too_large` when the password is over `MAX_PASSWORD_BYTES`
   */
  add(input: NewAccount): Promise<Account>;
  /** The account with its hash, or null (also for a username that could never be valid). */
  findByUsername(username: string): Promise<AccountWithHash | null>;
  get(id: string): Promise<Account | null>;
  /** All accounts, by username. */
  list(): Promise<Account[]>;
  /** True when an account was removed. */
  remove(username: string): Promise<boolean>;
  /**
   * Replaces the password (policy-checked) and stamps `passwordChangedAt`. Ending the user's
   * sessions is the caller's job: the account store does not know the session store.
   * @throws AccountError `account_not_found`, `weak_password`
   */
  setPassword(username: string, password: string): Promise<Account>;
  /** @throws AccountError `account_not_found`, `invalid_role` */
  setRoles(username: string, roles: string[]): Promise<Account>;
  close(): Promise<void>;
}

export interface AccountStoreOptions {
  clock?: Clock;
  /** A relative `sqlite:` path is resolved against this directory (the config file's). Default: cwd. */
  baseDir?: string;
  /** The config's `postgres` block, for a `postgres://` URL. Default: the schema's defaults. */
  postgres?: PostgresOptions;
}

/**
 * Opens the account store named by a store URL, as in `local.store`: `sqlite:<path>`,
 * `postgres://…` / `postgresql://…` (its own pool; with `migrateOnStart` the schema is migrated
 * on first use, so opening never fails while the database is down), or `memory` (an in-process
 * SQLite database, gone on exit: for tests and demos).
 *
 * @throws ConfigError for any other URL.
 */
export function createAccountStore(url: string, opts: AccountStoreOptions = {}): AccountStore {
  if (url === 'memory') {
    return createSqliteAccountStore({ filename: ':memory:', clock: opts.clock });
  }
  if (url.startsWith('sqlite:') && url.length > 'sqlite:'.length) {
    const path = url.slice('sqlite:'.length);
    const filename = path === ':memory:' || isAbsolute(path) ? path : resolve(opts.baseDir ?? '.', path);
    return createSqliteAccountStore({ filename, clock: opts.clock });
  }
  if (isPostgresUrl(url)) {
    return createPostgresAccountStore({ db: openPostgresDatabase(url, opts.postgres), clock: opts.clock });
  }
  throw new ConfigError([
    { key: 'local.store', message: `must be "memory", "sqlite:<path>" or "postgres://…", got "${url}".` },
  ]);
}
