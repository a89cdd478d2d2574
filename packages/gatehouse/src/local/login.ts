import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { GatehouseError } from '../errors.js';
import type { SessionUser } from '../session/model.js';
import { MAX_USERNAME_BYTES, normalizeUsername } from './account-fields.js';
import { clientAddressKey, DEFAULT_IPV6_PREFIX } from './client-address.js';
import { createFairQueue, FairQueueRefusedError } from './fair-queue.js';
import type { Account, AccountStore, AccountWithHash } from './accounts.js';
import { assertPasswordSize, hashPassword, verifyPassword } from './passwords.js';
import { exclusive } from '../backends/coordination/exclusive.js';
import type { Coordination } from '../backends/coordination/types.js';
import { deviceKey, type LockedKey, type LoginThrottle, usernameKey } from './throttle.js';

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
  /** IPv6 addresses sharing this prefix are one client for the fair share (as for the throttle). Default 56. */
  ipv6Prefix?: number;
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
   *   `invalid_credentials` (401) for an unknown username or a wrong password alike;
   *   `login_throttled` (429, `Retry-After: 1`) when this address or username already has
   *   {@link MAX_PENDING_PER_ADDRESS} sign-ins waiting; `server_busy` (503, `Retry-After: 1`) when
   *   {@link SHARED_PENDING} are waiting over all untrusted clients (or {@link MAX_PENDING} over all)
   *   and no other client waits with more jobs than this one would (fair-queue.ts).
   * @param signal the client hung up: a sign-in still waiting for its turn is dropped without hashing.
   * @param device the nonce of a device cookie already verified for this very username (see
   *   device-cookie.ts). The sign-in then runs in the reserved lane ({@link RESERVED_PENDING},
   *   {@link RESERVED_HASHING}) and only that device's own lockout applies: `login_throttled` (429)
   *   after `accountFailures` wrong passwords from it. The password is checked all the same.
   */
  authenticate(username: string, password: string, address: string, signal?: AbortSignal, device?: string): Promise<Account>;
  /** What the sign-in scheduler holds now, for tests and metrics. */
  load(): LoginLoad;
}

export interface LoginLoad {
  /** argon2 verifications running now. */
  hashing: number;
  /** Most argon2 verifications that ever ran at once: never above {@link MAX_HASHING}. */
  peakHashing: number;
  /** Sign-ins admitted and waiting for their turn. */
  waiting: number;
  /** argon2 verifications done or started since start-up. */
  verified: number;
  /** Sign-ins that ran in the reserved lane (with a valid device cookie) since start-up. */
  trusted: number;
}

/** Sign-ins waiting or hashing at once, over all clients; beyond it: 503 `server_busy`. */
export const MAX_PENDING = 32;
/**
 * Sign-ins running (and so argon2 verifications) at once. The libuv pool (4 threads by default)
 * is shared with file serving and DNS: hashing may take all of it only briefly, and more hashes at
 * once than cores would not finish any sooner.
 */
export const MAX_HASHING = 4;
/** Sign-ins admitted at once from one client address, and for one username; beyond it: 429 `login_throttled`. */
export const MAX_PENDING_PER_ADDRESS = 4;
/**
 * Places of {@link MAX_PENDING} kept for sign-ins with a valid device cookie (the reserved lane):
 * a flood from any number of addresses, each looking like one real user, fills only the other
 * places (OWASP "Slow Down Online Guessing Attacks with Device Cookies": tell trusted clients from
 * untrusted ones). They are also capped at {@link MAX_PENDING_PER_ADDRESS} per device and per account.
 */
export const RESERVED_PENDING = 8;
/** Places of {@link MAX_PENDING} that sign-ins without a valid device cookie can take: the rest is reserved. */
export const SHARED_PENDING = MAX_PENDING - RESERVED_PENDING;
/** Runners of {@link MAX_HASHING} kept for the reserved lane: a trusted sign-in never waits for a flood's hashes to end. */
export const RESERVED_HASHING = 1;

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
 * Sign-in with a local account. The checks follow the OWASP Authentication cheat sheet:
 * the same response for an unknown user and a wrong password, in about the same time, and
 * throttling that applies equally to usernames that do not exist.
 */
export function createLocalLogin(options: LocalLoginOptions): LocalLogin {
  const { accounts, throttle } = options;
  // Hashed once, with the real parameters, so that verifying an unknown username costs the same
  // argon2 work as a known one: response time does not reveal which usernames exist.
  const dummyHash = hashPassword(randomBytes(32).toString('base64url'));
  const ipv6Prefix = options.ipv6Prefix ?? DEFAULT_IPV6_PREFIX;
  // Fair shares of the hashing capacity (OWASP Denial of Service CS: limit per client, not only
  // globally): a flood from some addresses or against some usernames fills their own places, and
  // a newcomer is admitted ahead of their backlog. See fair-queue.ts.
  const queue = createFairQueue({
    concurrency: MAX_HASHING,
    capacity: MAX_PENDING,
    perKey: MAX_PENDING_PER_ADDRESS,
    reserved: { capacity: RESERVED_PENDING, concurrency: RESERVED_HASHING },
  });
  let trusted = 0;
  let hashing = 0;
  let peakHashing = 0;
  let verified = 0;

  async function verifyCounted(passwordHash: string, password: string): Promise<boolean> {
    hashing++;
    verified++;
    peakHashing = Math.max(peakHashing, hashing);
    try {
      return await verifyPassword(passwordHash, password);
    } finally {
      hashing--;
    }
  }

  async function attempt(username: string, password: string, address: string): Promise<Account> {
    const decision = await throttle.check(username, address);
    if (!decision.allowed) throw throttled(decision.retryAfterSeconds);

    const account = await accounts.findByUsername(username);
    const ok = await verifyCounted(account?.passwordHash ?? (await dummyHash), password);
    if (!account || !ok) {
      throw new InvalidCredentialsError(await throttle.recordFailure(username, address));
    }
    await throttle.recordSuccess(username, address);
    return withoutHash(account);
  }

  /**
   * A sign-in from a trusted device (OWASP device cookies): the device's own lockout instead of
   * the username's and the address's, failures counted against the device alone. A success
   * resets nothing: the untrusted clients' lockout of this account stays, or an attacker guessing
   * from elsewhere would get a fresh budget each time the real user signs in.
   */
  async function attemptTrusted(username: string, password: string, device: string): Promise<Account> {
    const decision = await throttle.checkDevice(device);
    if (!decision.allowed) throw throttled(decision.retryAfterSeconds);
    trusted++;
    const account = await accounts.findByUsername(username);
    const ok = await verifyCounted(account?.passwordHash ?? (await dummyHash), password);
    if (!account || !ok) throw new InvalidCredentialsError(await throttle.recordDeviceFailure(device));
    return withoutHash(account);
  }

  return {
    async authenticate(username, password, address, signal, device) {
      if (typeof username !== 'string' || typeof password !== 'string') {
        throw new GatehouseError('invalid_request');
      }
      // Size limits first: cheap, and they bound all later work (normalizing, hashing).
      assertPasswordSize(password);
      if (Buffer.byteLength(username, 'utf8') > MAX_USERNAME_BYTES) {
        throw new GatehouseError('payload_too_large', { message: `Username too long (max ${MAX_USERNAME_BYTES} bytes).` });
      }
      const client = String(address ?? '');
      // Attempts run one at a time per client address AND per username (the queue holds both keys
      // while a job runs): the throttle is checked and updated with no other guess in between, so
      // a parallel burst can neither slip past a limit nor learn a correct guess from a late 429.
      // A trusted device's sign-in is keyed by the device and the account in their own namespaces:
      // a flood from its address or against its username (untrusted) cannot fill its share.
      const keys =
        device === undefined
          ? ([`a:${clientAddressKey(client, ipv6Prefix)}`, `u:${normalizeUsername(username)}`] as const)
          : ([`d:${device}`, `t:${normalizeUsername(username)}`] as const);
      const run = device === undefined ? () => attempt(username, password, client) : () => attemptTrusted(username, password, device);
      // Across instances, guesses for one username (one device) also run one at a time.
      const lock = device === undefined ? `login:${usernameKey(username)}` : `login:${deviceKey(device)}`;
      try {
        return await queue.run(
          keys,
          () => (options.coordination ? exclusive(options.coordination, lock, { ...LOGIN_LOCK, busy: () => throttled(1) }, run) : run()),
          signal,
          device === undefined ? 'shared' : 'reserved',
        );
      } catch (error) {
        if (!(error instanceof FairQueueRefusedError)) throw error;
        // This client (or this username) has its share already: refused for it alone, uncounted.
        if (error.reason === 'key_full') throw throttled(1);
        // `abandoned`: the client is gone and reads no answer; the refusal only ends the handler.

        // Over all clients the capacity is full (or this was the newest job of the longest queue).
        throw new GatehouseError('server_busy', { headers: { 'Retry-After': '1' } });
      }
    },

    load: () => ({ hashing, peakHashing, waiting: queue.stats().waiting, verified, trusted }),
  };
}
