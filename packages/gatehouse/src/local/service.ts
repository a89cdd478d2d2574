import type { Clock } from '../clock.js';
import type { GatehouseConfig } from '../config/schema.js';
import type { SessionRecord, SessionUser } from '../session/model.js';
import { GatehouseError } from '../errors.js';
import { AccountError, type AccountStore, createAccountStore } from './accounts.js';
import { createLocalLogin, type LoginLoad, toSessionUser } from './login.js';
import { createLoginThrottle } from './throttle.js';
import type { Coordination } from '../backends/coordination/types.js';

/** Local accounts as the gateway uses them: the account store and sign-in with throttling. */
export interface LocalAccounts {
  accounts: AccountStore;
  /** The session user for a correct username + password; throws `invalid_credentials`, `login_throttled`, `payload_too_large`. */
  authenticate(username: string, password: string, address: string, signal?: AbortSignal, device?: string): Promise<SessionUser>;
  /**
   * Changes a user's password after checking the current one (throttled like a sign-in).
   * Throws `invalid_credentials`, `login_throttled`, or `password_rejected` with the policy's reason.
   */
  changePassword(username: string, currentPassword: string, newPassword: string, address: string): Promise<void>;
  /** The session user of a local account, for account linking; null when there is none. */
  findUser(username: string): Promise<SessionUser | null>;
  /**
   * Cookie mode's periodic check of a local session: the account's current claims and version
   * (`updatedAt`, the security stamp), or null when the session must end: the account is gone, or
   * its password changed after the session began (the session that changed it began after).
   */
  revalidate(session: SessionRecord): Promise<{ user: SessionUser; stamp: string } | null>;
  /** What the sign-in scheduler holds now (argon2 verifications running, at most, waiting): for tests and metrics. */
  load(): LoginLoad;
  close(): Promise<void>;
}

/**
 * @param coordination state shared by instances (the session backend's): throttle counters and
 *   the per-username sign-in lock live there, so limits hold across instances. Default: this process.
 */
export function createLocalAccounts(
  config: GatehouseConfig,
  clock: Clock,
  accounts?: AccountStore,
  coordination?: Coordination,
): LocalAccounts {
  const store = accounts ?? createAccountStore(config.local.store, { clock, postgres: config.postgres });
  const t = config.local.throttle;
  const throttle = createLoginThrottle({
    clock,
    accountFailures: t.accountFailures,
    addressFailures: t.addressFailures,
    window: t.window,
    lockout: t.lockout,
    maxLockout: t.maxLockout,
    ipv6Prefix: t.ipv6Prefix,
    // Shared counters: each failure is one atomic step in the backend (no lock around it).
    ...(coordination ? { backend: coordination.throttle } : {}),
  });
  const login = createLocalLogin({ accounts: store, throttle, clock, ipv6Prefix: t.ipv6Prefix, ...(coordination ? { coordination } : {}) });
  return {
    accounts: store,
    authenticate: async (username, password, address, signal, device) =>
      toSessionUser(await login.authenticate(username, password, address, signal, device)),
    changePassword: async (username, currentPassword, newPassword, address) => {
      await login.authenticate(username, currentPassword, address);
      try {
        await store.setPassword(username, newPassword);
      } catch (error) {
        if (error instanceof AccountError && error.code === 'weak_password') {
          throw new GatehouseError('password_rejected', { message: error.message });
        }
        throw error;
      }
    },
    findUser: async (username) => {
      const account = await store.findByUsername(username);
      return account ? toSessionUser(account) : null;
    },
    revalidate: async (session) => {
      const account = await store.get(session.userId);
      if (!account || account.passwordChangedAt > session.createdAt) return null;
      return { user: toSessionUser(account), stamp: String(account.updatedAt) };
    },
    load: () => login.load(),
    close: () => store.close(),
  };
}
