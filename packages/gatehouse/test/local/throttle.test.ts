import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { clientAddressKey } from '../../src/local/client-address.js';
import { addressKey, createLoginThrottle, type LoginThrottleOptions, usernameKey } from '../../src/local/throttle.js';
import { createMemoryThrottleBackend } from '../../src/backends/coordination/throttle-memory.js';
import { stepFailure } from '../../src/backends/coordination/throttle-step.js';
import type { FailureOutcome, FailureRule } from '../../src/backends/coordination/throttle-types.js';
import { fakeClock } from './fake-clock.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

function setup(overrides: Partial<LoginThrottleOptions> = {}) {
  const clock = fakeClock();
  const throttle = createLoginThrottle({
    clock,
    accountFailures: 5,
    addressFailures: 20,
    window: 15 * MINUTE,
    lockout: MINUTE,
    maxLockout: 15 * MINUTE,
    ...overrides,
  });
  return { clock, throttle };
}

async function fail(throttle: ReturnType<typeof setup>['throttle'], times: number, username = 'alice', address = '192.0.2.1') {
  for (let i = 0; i < times; i++) await throttle.recordFailure(username, address);
}

/** Lock `alice` once more: run out the current lock, then fail 5 more times. */
async function relock(t: ReturnType<typeof setup>) {
  const now = await t.throttle.check('alice', '192.0.2.1');
  if (!now.allowed) t.clock.advance(now.retryAfterSeconds * SECOND);
  await fail(t.throttle, 5);
  return t.throttle.check('alice', '192.0.2.1');
}

describe('login throttle: per account', () => {
  it('locks after exactly accountFailures failures, for lockout', async () => {
    const { throttle } = setup();
    await fail(throttle, 4);
    expect(await throttle.check('alice', '192.0.2.1')).toEqual({ allowed: true });
    await fail(throttle, 1);
    expect(await throttle.check('alice', '192.0.2.1')).toEqual({ allowed: false, retryAfterSeconds: 60 });
    // From another address too: the lock is on the account.
    expect(await throttle.check('alice', '198.51.100.9')).toEqual({ allowed: false, retryAfterSeconds: 60 });
    // Other accounts are unaffected.
    expect(await throttle.check('bob', '198.51.100.9')).toEqual({ allowed: true });
  });

  it('unlocks when the lock has passed, and Retry-After counts down in whole seconds', async () => {
    const { clock, throttle } = setup();
    await fail(throttle, 5);
    clock.advance(59_500);
    expect(await throttle.check('alice', '192.0.2.1')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(499);
    expect(await throttle.check('alice', '192.0.2.1')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(1);
    expect(await throttle.check('alice', '192.0.2.1')).toEqual({ allowed: true });
  });

  it('doubles each further lock and caps it at maxLockout, never permanent', async () => {
    const t = setup();
    const seconds: number[] = [];
    for (let i = 0; i < 7; i++) {
      const decision = await relock(t);
      seconds.push(decision.allowed ? 0 : decision.retryAfterSeconds);
    }
    expect(seconds).toEqual([60, 120, 240, 480, 900, 900, 900]);
    t.clock.advance(900 * SECOND);
    expect(await t.throttle.check('alice', '192.0.2.1')).toEqual({ allowed: true });
  });

  it('forgets the doubling once a window passes without failures', async () => {
    const t = setup();
    await relock(t);
    expect(await relock(t)).toEqual({ allowed: false, retryAfterSeconds: 120 });
    t.clock.advance(120 * SECOND + 15 * MINUTE);
    await fail(t.throttle, 5);
    expect(await t.throttle.check('alice', '192.0.2.1')).toEqual({ allowed: false, retryAfterSeconds: 60 });
  });

  it('counts failures within the window only', async () => {
    const { clock, throttle } = setup();
    await fail(throttle, 4);
    clock.advance(15 * MINUTE);
    await fail(throttle, 4);
    expect(await throttle.check('alice', '192.0.2.1')).toEqual({ allowed: true });
    await fail(throttle, 1);
    expect((await throttle.check('alice', '192.0.2.1')).allowed).toBe(false);
  });

  it('ignores failures recorded while locked: they neither count nor extend the lock', async () => {
    const { clock, throttle } = setup();
    await fail(throttle, 5);
    await fail(throttle, 50);
    expect(await throttle.check('alice', '192.0.2.1')).toEqual({ allowed: false, retryAfterSeconds: 60 });
    clock.advance(MINUTE);
    await fail(throttle, 4);
    expect(await throttle.check('alice', '192.0.2.1')).toEqual({ allowed: true });
  });

  it('a success resets the account count', async () => {
    const { throttle } = setup();
    await fail(throttle, 4);
    await throttle.recordSuccess('alice', '192.0.2.1');
    await fail(throttle, 4);
    expect(await throttle.check('alice', '192.0.2.1')).toEqual({ allowed: true });
    await fail(throttle, 1);
    expect((await throttle.check('alice', '192.0.2.1')).allowed).toBe(false);
  });

  it('keys by normalized username: every spelling shares one count', async () => {
    const { throttle } = setup();
    for (const spelling of ['alice', 'ALICE', ' Alice ', 'ＡＬＩＣＥ', 'alicE']) await throttle.recordFailure(spelling, '192.0.2.1');
    expect((await throttle.check('alice', '203.0.113.5')).allowed).toBe(false);
  });

  it('treats unknown usernames exactly like known ones (it never asks the account store)', async () => {
    const { throttle } = setup();
    await fail(throttle, 5, 'no-such-user-anywhere');
    expect(await throttle.check('no-such-user-anywhere', '192.0.2.1')).toEqual({ allowed: false, retryAfterSeconds: 60 });
  });
});

describe('login throttle: per address', () => {
  it('throttles one address spraying many usernames, and only that address', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 19; i++) await throttle.recordFailure(`user${i}`, '192.0.2.66');
    expect(await throttle.check('fresh-user', '192.0.2.66')).toEqual({ allowed: true });
    await throttle.recordFailure('user19', '192.0.2.66');
    expect(await throttle.check('fresh-user', '192.0.2.66')).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(await throttle.check('fresh-user', '192.0.2.67')).toEqual({ allowed: true });
  });

  it('is not reset by a success (an attacker cannot launder it with their own account)', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 19; i++) await throttle.recordFailure(`user${i}`, '192.0.2.66');
    await throttle.recordSuccess('mallory', '192.0.2.66');
    await throttle.recordFailure('user19', '192.0.2.66');
    expect((await throttle.check('mallory', '192.0.2.66')).allowed).toBe(false);
  });

  it('doubles and caps like the account lock', async () => {
    const { clock, throttle } = setup({ addressFailures: 3, lockout: 10 * SECOND, maxLockout: 25 * SECOND });
    const seconds: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3; i++) await throttle.recordFailure(`u${round}-${i}`, '192.0.2.66');
      const d = await throttle.check('x', '192.0.2.66');
      seconds.push(d.allowed ? 0 : d.retryAfterSeconds);
      if (!d.allowed) clock.advance(d.retryAfterSeconds * SECOND);
    }
    expect(seconds).toEqual([10, 20, 25]);
  });

  it('counts an IPv6 /56 as one client by default, and IPv4-mapped IPv6 as IPv4', async () => {
    const { throttle } = setup({ addressFailures: 2 });
    // Two different /64s inside 2001:db8:1:200::/56.
    await throttle.recordFailure('a', '2001:db8:1:201::1');
    await throttle.recordFailure('b', '2001:db8:1:2ff:ffff:ffff:ffff:ffff');
    expect((await throttle.check('c', '2001:0db8:0001:0280::9')).allowed).toBe(false);
    // The next /56 is another client.
    expect((await throttle.check('c', '2001:db8:1:300::1')).allowed).toBe(true);

    await throttle.recordFailure('a', '::ffff:192.0.2.1');
    await throttle.recordFailure('b', '192.0.2.1');
    expect((await throttle.check('c', '192.0.2.1')).allowed).toBe(false);
  });

  it('groups IPv6 at the configured ipv6Prefix: /64 narrower, /48 wider', async () => {
    const narrow = setup({ addressFailures: 2, ipv6Prefix: 64 }).throttle;
    await narrow.recordFailure('a', '2001:db8:1:2::1');
    await narrow.recordFailure('b', '2001:db8:1:2:ffff:ffff:ffff:ffff');
    expect((await narrow.check('c', '2001:db8:1:2::9')).allowed).toBe(false);
    expect((await narrow.check('c', '2001:db8:1:3::1')).allowed).toBe(true);

    const wide = setup({ addressFailures: 2, ipv6Prefix: 48 }).throttle;
    await wide.recordFailure('a', '2001:db8:1:100::1');
    await wide.recordFailure('b', '2001:db8:1:ff00::1');
    expect((await wide.check('c', '2001:db8:1:abcd::1')).allowed).toBe(false);
    expect((await wide.check('c', '2001:db8:2::1')).allowed).toBe(true);
  });

  it.each([31, 129, 56.5, Number.NaN])('refuses ipv6Prefix %s, naming the key', (ipv6Prefix) => {
    expect(() => setup({ ipv6Prefix })).toThrow(ConfigError);
    expect(() => setup({ ipv6Prefix })).toThrow(/local\.throttle\.ipv6Prefix: must be an integer from 32 to 128/);
  });
});

describe('clientAddressKey', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:201', '192.0.2.1'],
    ['2001:DB8:1:2:3:4:5:6', '2001:db8:1:0::/56'],
    ['2001:db8:1:2ab:3:4:5:6', '2001:db8:1:200::/56'],
    ['2001:db8::1', '2001:db8:0:0::/56'],
    ['fe80::1%eth0', 'fe80:0:0:0::/56'],
    ['::1', '0:0:0:0::/56'],
    ['not-an-ip', 'not-an-ip'],
  ])('%s → %s (default /56)', (address, key) => {
    expect(clientAddressKey(address)).toBe(key);
  });

  it.each([
    ['2001:DB8:1:2:3:4:5:6', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2ab:3:4:5:6', 48, '2001:db8:1::/48'],
    ['2001:db8:1:2ab:3:4:5:6', 32, '2001:db8::/32'],
    ['2001:db8:1:2ab:3:4:5:6', 60, '2001:db8:1:2a0::/60'],
    ['2001:db8:1:2ab:3:4:5:6', 128, '2001:db8:1:2ab:3:4:5:6/128'],
    ['192.0.2.1', 48, '192.0.2.1'],
  ])('%s at /%i → %s', (address, prefix, key) => {
    expect(clientAddressKey(address, prefix)).toBe(key);
  });

  it.each([0, 31, 129, 64.5])('throws a RangeError for prefix %s', (prefix) => {
    expect(() => clientAddressKey('2001:db8::1', prefix)).toThrow(RangeError);
  });
});

describe('login throttle: memory bound', () => {
  it('keeps at most maxKeys keys, evicting the stalest', async () => {
    const clock = fakeClock();
    const backend = createMemoryThrottleBackend({ clock, maxKeys: 10 });
    const throttle = createLoginThrottle({
      clock, backend, accountFailures: 1, addressFailures: 1000, window: MINUTE, lockout: MINUTE, maxLockout: MINUTE,
    });
    await throttle.recordFailure('first', '192.0.2.1'); // locks "first" at once
    for (let i = 0; i < 50; i++) await throttle.recordFailure(`spray${i}`, '192.0.2.1');
    expect(backend.size).toBeLessThanOrEqual(10);
    expect((await throttle.check('first', '198.51.100.1')).allowed).toBe(true); // evicted: the documented trade-off
  });

  it('drops expired entries as it goes', async () => {
    const clock = fakeClock();
    const backend = createMemoryThrottleBackend({ clock });
    const throttle = createLoginThrottle({
      clock, backend, accountFailures: 5, addressFailures: 1000, window: MINUTE, lockout: MINUTE, maxLockout: MINUTE,
    });
    for (let i = 0; i < 10; i++) await throttle.recordFailure(`user${i}`, '192.0.2.1');
    expect(backend.size).toBe(11);
    clock.advance(MINUTE);
    await throttle.recordFailure('late', '192.0.2.2');
    expect(backend.size).toBe(2);
  });

  it('refuses nonsensical limits with a ConfigError naming the key', () => {
    expect(() => createLoginThrottle({ accountFailures: 0, addressFailures: 1, window: 1, lockout: 1, maxLockout: 1 })).toThrow(
      /local\.throttle\.accountFailures/,
    );
    expect(() => createLoginThrottle({ accountFailures: 1, addressFailures: 1, window: 1, lockout: 10, maxLockout: 5 })).toThrow(
      ConfigError,
    );
  });
});


describe('login throttle: several instances on one backend', () => {
  /**
   * A shared backend with a network's latency (a Redis round trip), so updates can interleave.
   * `recordFailure` is the backend's own atomic step, or (`readThenWrite`) a get, then a set.
   */
  function slowBackend(readThenWrite = false) {
    const inner = createMemoryThrottleBackend();
    const later = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), 5));
    return {
      get: async (key: string) => later(await inner.get(key)),
      set: async (key: string, entry: Parameters<typeof inner.set>[1], expiresAt: number) => later(await inner.set(key, entry, expiresAt)),
      delete: async (key: string) => later(await inner.delete(key)),
      recordFailure: async (key: string, rule: FailureRule): Promise<FailureOutcome> => {
        if (!readThenWrite) return later(await inner.recordFailure(key, rule));
        const step = stepFailure(await later(await inner.get(key)), rule);
        if (!step) return 'refused';
        await later(await inner.set(key, step.entry, step.expiresAt));
        return step.locked ? 'locked' : 'counted';
      },
    };
  }
  const options = { accountFailures: 100, addressFailures: 100, window: 15 * MINUTE, lockout: MINUTE, maxLockout: 15 * MINUTE };

  it('counts failures recorded at the same moment on two instances: each is one atomic step in the backend, no lock', async () => {
    const backend = slowBackend();
    const a = createLoginThrottle({ ...options, backend });
    const b = createLoginThrottle({ ...options, backend });
    await Promise.all([a.recordFailure('alice', '192.0.2.1'), b.recordFailure('alice', '192.0.2.1'), a.recordFailure('alice', '192.0.2.1')]);
    expect((await backend.get(usernameKey('alice')))?.failures).toBe(3);
    expect((await backend.get(addressKey('192.0.2.1')))?.failures).toBe(3);
  });

  it('with a read then a write instead, the same three failures overwrite each other (why the backend counts in one step)', async () => {
    const backend = slowBackend(true);
    const a = createLoginThrottle({ ...options, backend });
    const b = createLoginThrottle({ ...options, backend });
    await Promise.all([a.recordFailure('alice', '192.0.2.1'), b.recordFailure('alice', '192.0.2.1'), a.recordFailure('alice', '192.0.2.1')]);
    expect((await backend.get(usernameKey('alice')))?.failures).toBeLessThan(3);
  });
});
