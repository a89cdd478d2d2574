import { isAbsolute, resolve } from 'node:path';
import type { Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { isPostgresUrl, openPostgresDatabase, type PostgresOptions } from '../backends/postgres/pool.js';
import { createPostgresAccountStore } from './accounts-postgres.js';
import { createSqliteAccountStore } from './accounts-sqlite.js';

/**
 * The local account store contract. Accounts are looked up by their normalized username (see
 * `normalizeUsername`): every method accepts the username as typed.
 */

export { AccountError, type AccountErrorCode } from './account-fields.js';
export { createPostgresAccountStore, type PostgresAccountStoreOptions } from './accounts-postgres.js';
export { createSqliteAccountStore, type SqliteAccountStoreOptions } from './accounts-sqlite.js';

export type { Account, AccountStore, AccountWithHash, NewAccount } from './account-types.js';
import type { AccountStore } from './account-types.js';

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
