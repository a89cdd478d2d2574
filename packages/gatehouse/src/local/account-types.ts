import type { Clock } from '../clock.js';

// The account model and the store contract, apart from the factory in accounts.ts that picks a
// back end, so the back ends can implement the contract without importing the factory.

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
