/**
 * Sign-in limits across instances: two logins (two gateway processes) share the account store
 * and the coordination state (throttle counters + the per-username lock), as N instances on one
 * Redis do. A burst of guesses for one username, sent from many addresses to both instances at
 * once, must not get more verified guesses than the limit allows.
 */
import * as argon2 from '@node-rs/argon2';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryCoordination } from '../../src/backends/coordination/memory.js';
import type { Coordination } from '../../src/backends/coordination/types.js';
import type { GatehouseError } from '../../src/errors.js';
import { type AccountStore, createAccountStore } from '../../src/local/accounts.js';
import { createLocalLogin, type LocalLogin } from '../../src/local/login.js';
import { createLoginThrottle } from '../../src/local/throttle.js';
import { openSessionBackend, type SessionStore } from '../../src/backends/stores/index.js';
import { deleteKeys } from '../helpers/redis-server.js';
import { describeWithRedis, REDIS_URL, runId } from '../helpers/services.js';

vi.mock('@node-rs/argon2', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...real, verify: vi.fn(real.verify) };
});

const PASSWORD = 'correct horse battery staple';
const LIMIT = 3;

function instance(accounts: AccountStore, coordination: Coordination | undefined, backend: Coordination, addressFailures = 100): LocalLogin {
  const throttle = createLoginThrottle({
    accountFailures: LIMIT,
    addressFailures,
    window: 15 * 60_000,
    lockout: 60_000,
    maxLockout: 15 * 60_000,
    backend: backend.throttle,
  });
  return createLocalLogin({ accounts, throttle, ...(coordination ? { coordination } : {}) });
}

/** 8 wrong guesses for alice at once, from 8 addresses, alternating between the two instances. */
async function burst(a: LocalLogin, b: LocalLogin): Promise<string[]> {
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).authenticate('alice', `wrong guess ${i}`, `198.51.100.${i + 1}`)),
  );
  return results.map((r) => (r.status === 'rejected' ? (r.reason as GatehouseError).code : 'ok')).sort();
}

function suite(name: string, open: () => Promise<Coordination>, close: (c: Coordination) => Promise<void>) {
  describe(name, () => {
    let accounts: AccountStore;
    let shared: Coordination;
    beforeEach(async () => {
      accounts = createAccountStore('memory');
      await accounts.add({ username: 'alice', password: PASSWORD });
      shared = await open();
      vi.mocked(argon2.verify).mockClear();
    });
    afterEach(async () => {
      await accounts.close();
      await close(shared);
    });

    it(`a burst split over two instances gets exactly ${LIMIT} verified guesses, then the account is locked everywhere`, async () => {
      const codes = await burst(instance(accounts, shared, shared), instance(accounts, shared, shared));
      expect(codes).toEqual([...Array(LIMIT).fill('invalid_credentials'), ...Array(8 - LIMIT).fill('login_throttled')].sort());
      expect(argon2.verify).toHaveBeenCalledTimes(LIMIT);
    });

    it('a spray of usernames from one address over two instances stops at the address limit (+1 in flight), then 429 on both', async () => {
      const a = instance(accounts, shared, shared, LIMIT);
      const b = instance(accounts, shared, shared, LIMIT);
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).authenticate(`sprayed-${i}`, 'guess', '203.0.113.9')),
      );
      const verified = results.filter((r) => r.status === 'rejected' && (r.reason as GatehouseError).code === 'invalid_credentials').length;
      // Every failure is counted (no lost update), so the lock falls at the limit; only an attempt
      // already past its check on the other instance can add one.
      expect(verified).toBeGreaterThanOrEqual(LIMIT);
      expect(verified).toBeLessThanOrEqual(LIMIT + 1);
      for (const login of [a, b]) {
        const late = await login.authenticate('alice', PASSWORD, '203.0.113.9').catch((e: GatehouseError) => e.code);
        expect(late).toBe('login_throttled');
      }
    });

    it('without the shared lock (counters shared, attempts not serialized) the same burst gets more guesses: the lock is what holds the limit', async () => {
      const codes = await burst(instance(accounts, undefined, shared), instance(accounts, undefined, shared));
      expect(codes.filter((c) => c === 'invalid_credentials').length).toBeGreaterThan(LIMIT);
    });
  });
}

suite('shared in-memory coordination', async () => createMemoryCoordination(), (c) => c.close());

describeWithRedis('on Redis', () => {
  const prefix = `gh-test:${runId}:login-instances:`;
  let n = 0;
  const stores = new Map<Coordination, SessionStore>();
  afterAll(async () => {
    await deleteKeys(REDIS_URL, prefix);
  });
  suite(
    'shared Redis coordination',
    async () => {
      const backend = await openSessionBackend(REDIS_URL, { redis: { keyPrefix: `${prefix}${n++}:`, connectTimeout: 5000, commandTimeout: 2000 } });
      stores.set(backend.coordination, backend.store);
      return backend.coordination;
    },
    // The store holds the other share of the connection: close both.
    async (c) => {
      await c.close();
      await stores.get(c)?.close();
    },
  );
});
