import type { Clock } from '../clock.js';
import type { GatehouseConfig } from '../config/schema.js';
import type { SessionUser } from '../stores/types.js';
import { type AccountStore, createAccountStore } from './accounts.js';
import { createLocalLogin, toSessionUser } from './login.js';
import { createLoginThrottle } from './throttle.js';

/** Local accounts as the gateway uses them: the account store and sign-in with throttling. */
export interface LocalAccounts {
  accounts: AccountStore;
  /** The session user for a correct username + password; throws `invalid_credentials`, `login_throttled`, `payload_too_large`. */
  authenticate(username: string, password: string, address: string): Promise<SessionUser>;
  close(): Promise<void>;
}

export function createLocalAccounts(config: GatehouseConfig, clock: Clock, accounts?: AccountStore): LocalAccounts {
  const store = accounts ?? createAccountStore(config.local.store, { clock });
  const t = config.local.throttle;
  const throttle = createLoginThrottle({
    clock,
    accountFailures: t.accountFailures,
    addressFailures: t.addressFailures,
    window: t.window,
    lockout: t.lockout,
    maxLockout: t.maxLockout,
  });
  const login = createLocalLogin({ accounts: store, throttle, clock });
  return {
    accounts: store,
    authenticate: async (username, password, address) => toSessionUser(await login.authenticate(username, password, address)),
    close: () => store.close(),
  };
}
