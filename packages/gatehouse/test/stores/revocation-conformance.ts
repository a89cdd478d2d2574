/**
 * The one RevocationList contract (session/model.ts) that every session backend runs (see
 * revocations.test.ts), each opened the way the gateway opens it (`openSessionBackend`). Cookie
 * mode relies on it on every request: a revocation that is lost, shortened or evicted brings an
 * ended session back, and an outage must fail closed.
 *
 * Time: every list runs on {@link clock}, which the suite moves (`time.now`). Redis's own TTL
 * runs on Redis's clock; the list also compares `until` with this clock, so expiry is exact there too.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSessionBackend, type BackendOptions, type SessionBackend } from '../../src/backends/stores/index.js';
import { StoreUnavailableError } from '../../src/errors.js';
import type { RevocationList } from '../../src/session/model.js';

export const T0 = Date.UTC(2030, 0, 1);
export const HOUR = 3_600_000;

/** What a backend hands the suite for one test; every list runs on the suite's clock. */
export interface RevocationsUnderTest {
  list: RevocationList;
  /** Whether the list is meant to outlive the process (then it has no epoch). */
  durable: boolean;
  /** Another gateway instance over the same data (its own connection); absent for memory. */
  other?(): Promise<RevocationList>;
  /** Close the backend and open it again over the same data (a restart); absent for memory. */
  reopen?(): Promise<RevocationList>;
  /** Revocations stored, counted in the backend itself rather than through the list. */
  stored(): Promise<number>;
  /** Lists whose backend cannot answer (unreachable, closed): every call must fail closed. */
  down(): Promise<RevocationList[]>;
  cleanup(): Promise<void>;
}

/** The test's time: set `time.now`; reset to T0 before each conformance test. */
export const time = { now: T0 };
export const clock = (): number => time.now;

/** Opens backends for one test and closes every one of them at cleanup. */
export function opener(url: string, options: BackendOptions) {
  const opened: SessionBackend[] = [];
  return {
    async open(at = url, extra: BackendOptions = {}): Promise<SessionBackend> {
      const backend = await openSessionBackend(at, { clock, ...options, ...extra });
      opened.push(backend);
      return backend;
    },
    async closeAll() {
      for (const b of opened.splice(0)) await closeBackend(b);
    },
  };
}

export async function closeBackend(backend: SessionBackend): Promise<void> {
  for (const part of [backend.revocations, backend.store, backend.coordination]) await part.close();
}

/** Run the revocation list contract against one backend. */
export function runRevocationConformance(name: string, factory: () => Promise<RevocationsUnderTest>): void {
  describe(`revocation list conformance: ${name}`, () => {
    let sut: RevocationsUnderTest;
    beforeEach(async () => {
      time.now = T0;
      sut = await factory();
    });
    afterEach(() => sut.cleanup());

    it('an unknown id is not revoked; a revoked one is, and only that one', async () => {
      expect(await sut.list.isRevoked('never-seen')).toBe(false);
      await sut.list.revoke('s1', T0 + HOUR);
      expect(await sut.list.isRevoked('s1')).toBe(true);
      expect(await sut.list.isRevoked('s2')).toBe(false);
      expect(await sut.stored()).toBe(1);
    });

    it('revoking again is idempotent, and never shortens the revocation', async () => {
      await sut.list.revoke('s1', T0 + 2 * HOUR);
      await sut.list.revoke('s1', T0 + 2 * HOUR);
      await sut.list.revoke('s1', T0 + HOUR); // earlier: must not shorten
      expect(await sut.stored()).toBe(1);
      time.now = T0 + 2 * HOUR - 1;
      expect(await sut.list.isRevoked('s1')).toBe(true);
      await sut.list.revoke('s1', T0 + 3 * HOUR); // later: extends
      time.now = T0 + 3 * HOUR - 1;
      expect(await sut.list.isRevoked('s1')).toBe(true);
    });

    it('holds until `until` by the clock: revoked at until - 1, not at until', async () => {
      await sut.list.revoke('s1', T0 + HOUR);
      time.now = T0 + HOUR - 1;
      expect(await sut.list.isRevoked('s1')).toBe(true);
      time.now = T0 + HOUR;
      expect(await sut.list.isRevoked('s1')).toBe(false);
    });

    it('an `until` already past (or now) writes nothing', async () => {
      await sut.list.revoke('s1', T0 - 1);
      await sut.list.revoke('s2', T0);
      expect(await sut.stored()).toBe(0);
      // Had it been written with its until, it would count as revoked on an earlier clock.
      time.now = T0 - 1_000;
      expect(await sut.list.isRevoked('s1')).toBe(false);
      expect(await sut.list.isRevoked('s2')).toBe(false);
    });

    it('refuses an `until` that is not a finite instant, writing nothing', async () => {
      for (const until of [Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(sut.list.revoke('s1', until)).rejects.toThrow(RangeError);
      }
      expect(await sut.stored()).toBe(0);
    });

    it('an epoch only where the list does not outlive the process', async () => {
      if (sut.durable) {
        expect(sut.list.epoch).toBeUndefined();
      } else {
        expect(sut.list.epoch).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        const again = await factory();
        expect(again.list.epoch).not.toBe(sut.list.epoch);
        await again.cleanup();
      }
    });

    it('another instance on the same data sees a revocation at once, both ways', async (context) => {
      if (!sut.other) return context.skip('process-local: no other instance shares it');
      const other = await sut.other();
      await sut.list.revoke('s1', T0 + HOUR);
      expect(await other.isRevoked('s1')).toBe(true);
      await other.revoke('s2', T0 + HOUR);
      expect(await sut.list.isRevoked('s2')).toBe(true);
    });

    it('a restart does not bring a revoked session back', async (context) => {
      if (!sut.reopen) return context.skip('not durable: a restart changes the epoch instead');
      await sut.list.revoke('s1', T0 + HOUR);
      const reopened = await sut.reopen();
      expect(await reopened.isRevoked('s1')).toBe(true);
      expect(await reopened.isRevoked('s2')).toBe(false);
    });

    it('with the backend down or closed, revoke and isRevoked reject with StoreUnavailableError', async () => {
      const lists = await sut.down();
      expect(lists.length).toBeGreaterThan(0);
      for (const list of lists) {
        for (const op of [() => list.isRevoked('s1'), () => list.revoke('s1', T0 + HOUR)]) {
          const error = await op().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(StoreUnavailableError);
          expect(error).toMatchObject({ code: 'store_unavailable', status: 503 });
        }
      }
    });
  });
}

/** Never evicts: every one of many live revocations still holds (the memory list is the one with a bound to get wrong). */
export async function expectManyKept(list: RevocationList, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await list.revoke(`bulk-${i}`, T0 + HOUR + i);
  const missing: string[] = [];
  for (let i = 0; i < n; i++) if (!(await list.isRevoked(`bulk-${i}`))) missing.push(`bulk-${i}`);
  expect(missing).toStrictEqual([]);
}
