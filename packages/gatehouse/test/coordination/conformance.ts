/**
 * The one coordination contract (src/coordination/types.ts) every backend runs: locks, one-time
 * marks, small values with a lifetime, and the login throttle's storage.
 *
 * Lifetimes: a backend on an injected clock (memory) has time moved for it; a backend whose
 * expiry Redis itself enforces has to let real time pass, so expiry tests use short TTLs there.
 * Each backend says which through {@link CoordinationUnderTest.passTime} and `exactClock`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import type { Coordination } from '../../src/backends/coordination/types.js';
import { stepFailure } from '../../src/backends/coordination/throttle-step.js';
import type { FailureOutcome } from '../../src/backends/coordination/throttle-types.js';
import { createLoginThrottle, type ThrottleEntry } from '../../src/local/throttle.js';

/** What a backend hands the suite for one test. */
export interface CoordinationUnderTest {
  /** One gateway instance's view: a networked backend opens a new connection per call, over the same data. */
  instance(): Coordination;
  /** The clock the instances were given (the throttle's `expiresAt` is on it). */
  clock: Clock;
  /** Let `ms` pass for expiry purposes: move a fake clock, or wait. */
  passTime(ms: number): Promise<void>;
  /** True when passTime moves the backend's clock exactly (then the suite also checks the last millisecond before expiry). */
  exactClock: boolean;
  /** Close every instance and remove the test's data. */
  cleanup(): Promise<void>;
}

/** Long enough that a networked backend answers several commands before it runs out, short enough to wait for. */
const TTL = 300;

/** Run the coordination contract against one backend. */
export function runCoordinationConformance(name: string, factory: () => Promise<CoordinationUnderTest>): void {
  describe(`coordination conformance: ${name}`, () => {
    let sut: CoordinationUnderTest;

    beforeEach(async () => {
      sut = await factory();
    });

    afterEach(async () => {
      await sut.cleanup();
    });

    it('tryLock is exclusive across instances until released; not re-entrant; keys are independent', async () => {
      const [a, b] = [sut.instance(), sut.instance()];
      const lock = await a.tryLock('refresh:s1', 60_000);
      expect(lock).not.toBeNull();
      expect(await b.tryLock('refresh:s1', 60_000)).toBeNull();
      expect(await a.tryLock('refresh:s1', 60_000)).toBeNull();
      expect(await b.tryLock('refresh:s2', 60_000)).not.toBeNull();
      await lock?.release();
      expect(await b.tryLock('refresh:s1', 60_000)).not.toBeNull();
    });

    it('exactly one of many concurrent takers gets the lock', async () => {
      const instances = [sut.instance(), sut.instance(), sut.instance()];
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => instances[i % 3]?.tryLock('hot', 60_000)));
      expect(results.filter((lock) => lock)).toHaveLength(1);
    });

    it('a lock frees itself after its TTL, and the late holder cannot release the new holder’s lock', async () => {
      const [a, b] = [sut.instance(), sut.instance()];
      const first = await a.tryLock('k', TTL);
      expect(first).not.toBeNull();
      expect(await b.tryLock('k', TTL)).toBeNull();
      if (sut.exactClock) {
        await sut.passTime(TTL - 1);
        expect(await b.tryLock('k', TTL)).toBeNull();
        await sut.passTime(1);
      } else {
        await sut.passTime(TTL + 100);
      }
      const second = await b.tryLock('k', 60_000);
      expect(second).not.toBeNull();
      await first?.release(); // too late: no longer the holder
      expect(await a.tryLock('k', 60_000)).toBeNull();
      await second?.release();
      await second?.release(); // twice is harmless
      expect(await a.tryLock('k', 60_000)).not.toBeNull();
    });

    it('claimOnce is true the first time only, across instances and concurrently, until the mark expires', async () => {
      const [a, b] = [sut.instance(), sut.instance()];
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).claimOnce('jti:abc', TTL)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await a.claimOnce('jti:abc', TTL)).toBe(false);
      expect(await a.claimOnce('jti:other', 60_000)).toBe(true);
      await sut.passTime(sut.exactClock ? TTL : TTL + 100);
      expect(await b.claimOnce('jti:abc', 60_000)).toBe(true);
      expect(await a.claimOnce('jti:abc', 60_000)).toBe(false);
      expect(await a.claimOnce('jti:other', 60_000)).toBe(false);
    });

    it('put/get: shared, overwritten, gone at expiry; unknown is null; keys are opaque', async () => {
      const [a, b] = [sut.instance(), sut.instance()];
      expect(await a.get('sid:1')).toBeNull();
      await a.put('sid:1', 'user-1', 60_000);
      expect(await b.get('sid:1')).toBe('user-1');
      await b.put('sid:1', 'user-2 ünïcødé', TTL);
      expect(await a.get('sid:1')).toBe('user-2 ünïcødé');
      await a.put("a'b%_*\\", 'v', 60_000);
      expect(await b.get("a'b%_*\\")).toBe('v');
      expect(await b.get('a*')).toBeNull();
      await sut.passTime(sut.exactClock ? TTL : TTL + 100);
      expect(await a.get('sid:1')).toBeNull();
      expect(await a.get("a'b%_*\\")).toBe('v');
    });

    it('locks, marks, values and throttle entries with the same key do not interfere', async () => {
      const c = sut.instance();
      await c.put('same', 'value', 60_000);
      expect(await c.tryLock('same', 60_000)).not.toBeNull();
      expect(await c.claimOnce('same', 60_000)).toBe(true);
      expect(await c.throttle.get('same')).toBeUndefined();
      expect(await c.get('same')).toBe('value');
    });

    it('throttle backend round-trips an entry until its expiry, and deletes', async () => {
      const [one, two] = [sut.instance(), sut.instance()];
      const now = sut.clock();
      const entry: ThrottleEntry = { failures: 3, windowStart: now, lockouts: 1, lockedUntil: now + 60_000 };
      expect(await one.throttle.get('u:x')).toBeUndefined();
      await one.throttle.set('u:x', entry, now + 120_000);
      expect(await two.throttle.get('u:x')).toStrictEqual(entry);
      await two.throttle.set('u:x', { ...entry, failures: 4 }, now + 120_000);
      expect((await one.throttle.get('u:x'))?.failures).toBe(4);
      await one.throttle.delete('u:x');
      expect(await two.throttle.get('u:x')).toBeUndefined();
      await one.throttle.delete('never-set');
      // An expiry already past stores nothing; a short one runs out.
      await one.throttle.set('past', entry, sut.clock());
      expect(await one.throttle.get('past')).toBeUndefined();
      await one.throttle.set('short', entry, sut.clock() + TTL);
      expect(await two.throttle.get('short')).toStrictEqual(entry);
      await sut.passTime(sut.exactClock ? TTL : TTL + 100);
      expect(await two.throttle.get('short')).toBeUndefined();
    });

    it('recordFailure is one atomic step: N concurrent failures on one key from two instances are all counted, and the limit locks it exactly once', async () => {
      // Two connections (pools) racing on one key, with no lock around the updates: a read then a
      // write would let concurrent failures read the same count and overwrite each other.
      const [one, two] = [sut.instance(), sut.instance()];
      const now = sut.clock();
      const rule = { now, window: 60_000, lockout: 30_000, maxLockout: 600_000 };
      const N = 24;
      const burst = (count: number, limit: number) =>
        Promise.all(Array.from({ length: count }, (_, i) => (i % 2 ? one : two).throttle.recordFailure('u:hot', { ...rule, limit })));
      expect(await burst(N, 1000)).toStrictEqual(Array(N).fill('counted'));
      expect(await one.throttle.get('u:hot')).toStrictEqual({ failures: N, windowStart: now, lockouts: 0, lockedUntil: 0 });
      // 16 more with the limit at N + 8: the 8th of them locks, the 8 after it are refused (uncounted).
      const outcomes = await burst(16, N + 8);
      const tally = (o: FailureOutcome) => outcomes.filter((x) => x === o).length;
      expect([tally('counted'), tally('locked'), tally('refused')]).toStrictEqual([7, 1, 8]);
      expect(await two.throttle.get('u:hot')).toStrictEqual({ failures: 0, windowStart: now, lockouts: 1, lockedUntil: now + 30_000 });
    });

    it('recordFailure steps an entry as the throttle rule says: window reset, lock, refusal while locked, doubling, cap, doubling forgotten', async () => {
      const [one, two] = [sut.instance(), sut.instance()];
      const rule = { window: 60_000, limit: 3, lockout: 10_000, maxLockout: 35_000 };
      // The rule's clock moves (not the backend's): the entry never expires in the store, and the
      // model (the pure rule, stepped from its own last entry) must agree at every step.
      const deltas = [0, 1_000, 1_000, 3_000, 7_000, 0, 0, 5_000, 20_000, 0, 0, 40_000, 0, 0, 95_000, 0, 61_000, 0, 59_999, 0];
      let now = sut.clock();
      let model: ThrottleEntry | undefined;
      const seen = new Set<FailureOutcome>();
      for (const [i, delta] of deltas.entries()) {
        now += delta;
        const step = stepFailure(model, { ...rule, now });
        const expected: FailureOutcome = step ? (step.locked ? 'locked' : 'counted') : 'refused';
        if (step) model = step.entry;
        const outcome = await (i % 2 ? one : two).throttle.recordFailure('u:model', { ...rule, now });
        expect({ i, outcome, entry: await one.throttle.get('u:model') }).toStrictEqual({ i, outcome: expected, entry: model });
        seen.add(outcome);
      }
      expect(model?.lockouts).toBe(1); // the doubling was forgotten on the way
      expect([...seen].sort()).toStrictEqual(['counted', 'locked', 'refused']);
    });

    it('recordFailure on an expired entry starts afresh; a key set by set() is stepped from what was set', async () => {
      const c = sut.instance();
      const now = sut.clock();
      const rule = { now, window: 60_000, limit: 5, lockout: 30_000, maxLockout: 600_000 };
      // Three locks so far, the last ended a second ago: the next lock doubles on from them.
      await c.throttle.set('u:old', { failures: 4, windowStart: now, lockouts: 3, lockedUntil: now - 1_000 }, now + TTL);
      expect(await c.throttle.recordFailure('u:old', rule)).toBe('locked');
      expect(await c.throttle.get('u:old')).toStrictEqual({ failures: 0, windowStart: now, lockouts: 4, lockedUntil: now + 240_000 });
      await c.throttle.set('u:gone', { failures: 4, windowStart: now, lockouts: 3, lockedUntil: 0 }, now + TTL);
      await sut.passTime(sut.exactClock ? TTL : TTL + 100);
      const later = sut.clock();
      expect(await c.throttle.recordFailure('u:gone', { ...rule, now: later })).toBe('counted');
      expect(await c.throttle.get('u:gone')).toStrictEqual({ failures: 1, windowStart: later, lockouts: 0, lockedUntil: 0 });
    });

    it('a lockout recorded through one instance is enforced by another (login throttle over the backend)', async () => {
      const options = { clock: sut.clock, accountFailures: 3, addressFailures: 100, window: 60_000, lockout: 30_000, maxLockout: 600_000 };
      const one = createLoginThrottle({ ...options, backend: sut.instance().throttle });
      const two = createLoginThrottle({ ...options, backend: sut.instance().throttle });
      for (let i = 0; i < 3; i++) await (i % 2 ? one : two).recordFailure('Alice', '203.0.113.9');
      expect(await two.check('alice', '198.51.100.1')).toEqual({ allowed: false, retryAfterSeconds: 30 });
      await one.recordSuccess('alice', '198.51.100.1');
      expect(await two.check('alice', '198.51.100.1')).toEqual({ allowed: true });
    });
  });
}
