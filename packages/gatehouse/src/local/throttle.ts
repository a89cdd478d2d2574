import { createHash } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { normalizeUsername } from './account-fields.js';
import { clientAddressKey, DEFAULT_IPV6_PREFIX, IPV6_PREFIX_RANGE } from './client-address.js';
import type { ThrottleBackend } from '../backends/coordination/throttle-types.js';
import { createMemoryThrottleBackend } from '../backends/coordination/throttle-memory.js';

/**
 * Login throttling: slows online password guessing against one account, and password spraying
 * from one client, without ever locking anyone out for good.
 *
 * OWASP Authentication CS ("Account Lockout"): lock after a number of failures, for a duration
 * that grows, and never permanently (so an attacker cannot lock a user out forever). OWASP
 * Credential Stuffing CS: also limit per client address, since spraying tries one password
 * against many usernames.
 *
 * Rules, per key (one for the normalized username, over every address; one for the client
 * address, IPv6 grouped by prefix):
 * - `limit` failures within `window` (counted from the first of them) lock the key for `lockout`.
 * - After a lock expires, the count starts again; reaching the limit again doubles the previous
 *   lock, up to `maxLockout`. The doubling is remembered until `window` has passed since the last
 *   lock ended with no further failure.
 * - A success resets the username key only. It never resets the address key: otherwise an
 *   attacker could interleave sign-ins to an account of their own to reset it.
 * - The username key is kept whether or not the account exists, so a lockout says nothing
 *   about which usernames are real (OWASP Authentication CS, "Authentication Responses").
 */

export type { FailureOutcome, FailureRule, ThrottleBackend, ThrottleEntry } from '../backends/coordination/throttle-types.js';

export interface LoginThrottleOptions {
  clock?: Clock;
  /** Failures for one username within `window` before it is locked. */
  accountFailures: number;
  /** Failures from one client address within `window` before it is throttled. */
  addressFailures: number;
  /** Milliseconds. */
  window: number;
  /** First lock, milliseconds; doubles on each further lock. */
  lockout: number;
  /** Longest lock, milliseconds. */
  maxLockout: number;
  /**
   * Default: in memory, bounded to `maxKeys` keys. A shared one (Redis, PostgreSQL) counts each
   * failure in one atomic step, so instances sharing it lose no failure and need no lock.
   */
  backend?: ThrottleBackend;
  /** Bound on keys tracked by the default in-memory backend. Default 100 000. */
  maxKeys?: number;
  /** IPv6 addresses sharing this many leading bits count as one client (32..128). Default 56. */
  ipv6Prefix?: number;
}

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** A key a failure has just locked: the username's, the client address's, or a trusted device's. */
export type { LockedKey } from '../http/audit.js';
import type { LockedKey } from '../http/audit.js';

export interface LoginThrottle {
  /** Whether an attempt for this username from this address may proceed now. */
  check(username: string, address: string): Promise<ThrottleDecision>;
  /** Counts a failure; resolves with the keys this very failure locked (usually none), for the audit log. */
  recordFailure(username: string, address: string): Promise<LockedKey[]>;
  /** Resets the username's count (not the address's). */
  recordSuccess(username: string, address: string): Promise<void>;
  /**
   * Whether a sign-in from the trusted device `nonce` (a valid device cookie) may proceed: only
   * that device's own lockout applies (OWASP "Slow Down Online Guessing Attacks with Device
   * Cookies": a trusted client is not locked out by attacks from elsewhere, it is locked out alone).
   */
  checkDevice(nonce: string): Promise<ThrottleDecision>;
  /** Counts a failed sign-in from the trusted device `nonce`, `accountFailures` per `window` locking it; resolves with what it locked. */
  recordDeviceFailure(nonce: string): Promise<LockedKey[]>;
}

function hashed(prefix: string, value: string): string {
  // Fixed-size keys bound memory per entry and keep usernames and addresses out of the backend.
  return `${prefix}:${createHash('sha256').update(value).digest('base64url')}`;
}

/** The throttle key for a username: the same for every spelling of the same account. */
export function usernameKey(username: string): string {
  return hashed('u', normalizeUsername(username));
}

/** The throttle key for a trusted device (the nonce of its device cookie): the OWASP device-cookie lockout list. */
export function deviceKey(nonce: string): string {
  return hashed('d', nonce);
}

/** The throttle key for a client address (IPv6 by `ipv6Prefix`, default /56, see `clientAddressKey`). */
export function addressKey(address: string, ipv6Prefix: number = DEFAULT_IPV6_PREFIX): string {
  return hashed('a', clientAddressKey(address, ipv6Prefix));
}

function validate(o: LoginThrottleOptions): void {
  const problems: { key: string; message: string }[] = [];
  const positiveInt = (key: keyof LoginThrottleOptions) => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      problems.push({ key: `local.throttle.${key}`, message: 'must be a positive integer.' });
    }
  };
  for (const key of ['accountFailures', 'addressFailures', 'window', 'lockout', 'maxLockout'] as const) positiveInt(key);
  const prefix = o.ipv6Prefix ?? DEFAULT_IPV6_PREFIX;
  if (!Number.isInteger(prefix) || prefix < IPV6_PREFIX_RANGE.min || prefix > IPV6_PREFIX_RANGE.max) {
    problems.push({ key: 'local.throttle.ipv6Prefix', message: `must be an integer from ${IPV6_PREFIX_RANGE.min} to ${IPV6_PREFIX_RANGE.max}.` });
  }
  if (problems.length === 0 && o.maxLockout < o.lockout) {
    problems.push({ key: 'local.throttle.maxLockout', message: 'must be at least local.throttle.lockout.' });
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/** Creates a login throttle. @throws ConfigError on nonsensical limits. */
export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  validate(options);
  const { accountFailures, addressFailures, window, lockout, maxLockout } = options;
  const clock = options.clock ?? systemClock;
  const ipv6Prefix = options.ipv6Prefix ?? DEFAULT_IPV6_PREFIX;
  const backend = options.backend ?? createMemoryThrottleBackend({ clock, maxKeys: options.maxKeys });

  async function lockedFor(key: string, now: number): Promise<number> {
    const entry = await backend.get(key);
    return entry && entry.lockedUntil > now ? entry.lockedUntil - now : 0;
  }

  /** Counts one failure against `key` (one atomic backend step, see throttle-step.ts); true when it locks the key. */
  async function counted(key: string, limit: number, now: number): Promise<boolean> {
    return (await backend.recordFailure(key, { now, window, limit, lockout, maxLockout })) === 'locked';
  }

  return {
    async check(username, address) {
      const now = clock();
      const [byUser, byAddress] = await Promise.all([
        lockedFor(usernameKey(username), now),
        lockedFor(addressKey(address, ipv6Prefix), now),
      ]);
      const waitMs = Math.max(byUser, byAddress);
      if (waitMs <= 0) return { allowed: true };
      // Retry-After is whole seconds (RFC 9110 §10.2.3); round up so a retry is never early.
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    },

    async recordFailure(username, address) {
      const now = clock();
      const [account, client] = await Promise.all([
        counted(usernameKey(username), accountFailures, now),
        counted(addressKey(address, ipv6Prefix), addressFailures, now),
      ]);
      const locked: LockedKey[] = [];
      if (account) locked.push('account');
      if (client) locked.push('address');
      return locked;
    },

    async recordSuccess(username) {
      await backend.delete(usernameKey(username));
    },

    async checkDevice(nonce) {
      const waitMs = await lockedFor(deviceKey(nonce), clock());
      if (waitMs <= 0) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    },

    async recordDeviceFailure(nonce) {
      // The same limit as for one username: a stolen device cookie gives no more guesses than an
      // untrusted client gets against that account, and the lock doubles in the same way.
      return (await counted(deviceKey(nonce), accountFailures, clock())) ? ['device'] : [];
    },
  };
}
