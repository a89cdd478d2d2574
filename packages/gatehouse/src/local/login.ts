import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { GatehouseError } from '../errors.js';
import type { SessionUser } from '../stores/types.js';
import { MAX_USERNAME_BYTES, normalizeUsername } from './account-fields.js';
import { clientAddressKey } from './client-address.js';
import type { Account, AccountStore, AccountWithHash } from './accounts.js';
import { assertPasswordSize, hashPassword, verifyPassword } from './passwords.js';
import { exclusive } from '../coordination/exclusive.js';
import type { Coordination } from '../coordination/types.js';
import { type LockedKey, type LoginThrottle, usernameKey } from './throttle.js';

export interface LocalLoginOptions {
  accounts: AccountStore;
  throttle: LoginThrottle;
  /** Reserved for audit timestamps; the throttle has its own clock. */
  clock?: Clock;
  /**
   * Shared by instances: attempts for one username then run one at a time across all of them,
   * as they do within one process, so guesses sent to several instances at once cannot pass the
   * limit together. Default: this process only.
   */
  coordination?: Coordination;
}

/** The cross-instance per-username lock: held for one argon2 verification, freed long before this. */
const LOGIN_LOCK = { ttlMs: 10_000, waitMs: 5_000 } as const;

export interface LocalLogin {
  /**
   * Checks a username and password, sent from `address` (the client IP as the server trusts it).
   *
   * @returns the account, without its hash.
   * @throws GatehouseError `payload_too_large` (413) for an oversized password or username, before any work;
   *   `login_throttled` (429, with `Retry-After`) while the username or address is locked;
   *   `invalid_credentials` (401) for an unknown username or a wrong password alike.
   */
  authenticate(username: string, password: string, address: string): Promise<Account>;
}

/** Sign-ins waiting or hashing at once, over all clients; beyond it: 503 `server_busy`. */
export const MAX_PENDING = 32;
/** Sign-ins waiting at once from one client address; beyond it: 429 `login_throttled`. */
export const MAX_PENDING_PER_ADDRESS = 4;

/** The session's view of an account. */
export function toSessionUser(account: Account): SessionUser {
  const user: SessionUser = { id: account.id, username: account.username, roles: [...account.roles] };
  if (account.name !== undefined) user.name = account.name;
  return user;
}

function withoutHash(account: AccountWithHash): Account {
  const { passwordHash: _hash, ...rest } = account;
  return rest;
}

/**
 * `invalid_credentials` (401), knowing which throttle keys this failure locked, so the audit log
 * can record the lockout when it happens. The client sees the same refusal either way.
 */
export class InvalidCredentialsError extends GatehouseError {
  constructor(readonly locked: readonly LockedKey[]) {
    super('invalid_credentials');
    this.name = 'InvalidCredentialsError';
  }
}

function throttled(retryAfterSeconds: number): GatehouseError {
  return new GatehouseError('login_throttled', { headers: { 'Retry-After': String(retryAfterSeconds) } });
}

/**
 * Runs `task`s for the same key one after another. Without it, a burst of parallel guesses for
 * one username would all pass the throttle check before the first failure is recorded.
 */
function createKeyedQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return function serialize<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(task);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}

/**
 * Sign-in with a local account. The checks follow the OWASP Authentication cheat sheet:
 * the same response for an unknown user and a wrong password, in about the same time, and
 * throttling that applies equally to usernames that do not exist.
 */
export function createLocalLogin(options: LocalLoginOptions): LocalLogin {
  const { accounts, throttle } = options;
  // Hashed once, with the real parameters, so that verifying an unknown username costs the same
  // argon2 work as a known one: response time does not reveal which usernames exist.
  const dummyHash = hashPassword(randomBytes(32).toString('base64url'));
  const serialize = createKeyedQueue();
  let pending = 0;
  const pendingByAddress = new Map<string, number>();

  async function attempt(username: string, password: string, address: string): Promise<Account> {
    const decision = await throttle.check(username, address);
    if (!decision.allowed) throw throttled(decision.retryAfterSeconds);

    const account = await accounts.findByUsername(username);
    const ok = await verifyPassword(account?.passwordHash ?? (await dummyHash), password);
    if (!account || !ok) {
      throw new InvalidCredentialsError(await throttle.recordFailure(username, address));
    }
    await throttle.recordSuccess(username, address);
    return withoutHash(account);
  }

  return {
    async authenticate(username, password, address) {
      if (typeof username !== 'string' || typeof password !== 'string') {
        throw new GatehouseError('invalid_request');
      }
      // Size limits first: cheap, and they bound all later work (normalizing, hashing).
      assertPasswordSize(password);
      if (Buffer.byteLength(username, 'utf8') > MAX_USERNAME_BYTES) {
        throw new GatehouseError('payload_too_large', { message: `Username too long (max ${MAX_USERNAME_BYTES} bytes).` });
      }
      const client = String(address ?? '');
      const addressKey = `a:${clientAddressKey(client)}`;
      // Bounded work: a flood from one address queues behind itself and is cut off early; a
      // distributed flood cannot occupy more than MAX_PENDING argon2 slots (the libuv pool is
      // shared with file serving).
      if ((pendingByAddress.get(addressKey) ?? 0) >= MAX_PENDING_PER_ADDRESS) throw throttled(1);
      if (pending >= MAX_PENDING) throw new GatehouseError('server_busy', { headers: { 'Retry-After': '1' } });
      pending++;
      pendingByAddress.set(addressKey, (pendingByAddress.get(addressKey) ?? 0) + 1);
      try {
        // Attempts run one at a time per client address AND per username (always in that order, so
        // no deadlock): the throttle is checked and updated with no other guess in between, so a
        // parallel burst can neither slip past a limit nor learn a correct guess from a late 429.
        const userKey = `u:${normalizeUsername(username)}`;
        const run = () => attempt(username, password, client);
        return await serialize(addressKey, () =>
          serialize(userKey, () =>
            options.coordination
              ? exclusive(options.coordination, `login:${usernameKey(username)}`, { ...LOGIN_LOCK, busy: () => throttled(1) }, run)
              : run(),
          ),
        );
      } finally {
        pending--;
        const left = (pendingByAddress.get(addressKey) ?? 1) - 1;
        if (left === 0) pendingByAddress.delete(addressKey);
        else pendingByAddress.set(addressKey, left);
      }
    },
  };
}
