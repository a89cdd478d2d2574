/**
 * The one conformance suite every session store runs (memory, sqlite, redis, postgres, and a
 * third party's own). A backend's test file only supplies a factory; it never re-states the
 * contract. Exported as `gatehouse/testing`, not from the main entry. It imports no test
 * framework: the caller hands in `describe`, `it`, `expect`, `beforeEach` and `afterEach`
 * (vitest's, or any framework with its Jest-style API and `ctx.skip()`), so gatehouse depends on none.
 *
 * Time is a fake clock the suite moves: no test sleeps.
 */
import type { Clock } from '../clock.js';
import type { ConformanceSuite, ConformanceTestApi, StoreUnderTest } from './conformance/api.js';
import { deleteCases } from './conformance/deletes.js';
import { expiryCases } from './conformance/expiry.js';
import { T0 } from './conformance/fixtures.js';
import { lifecycleCases } from './conformance/lifecycle.js';
import { listingCases } from './conformance/listing.js';
import { recordCases } from './conformance/records.js';
import { updateCases } from './conformance/updates.js';

export type { ConformanceAssertion, ConformanceTestApi, StoreUnderTest } from './conformance/api.js';
export { makeRecord } from './conformance/fixtures.js';

/**
 * Run the session store contract against one backend: `factory` opens a fresh store (with the
 * suite's fake clock) for each test.
 */
export function runStoreConformance(test: ConformanceTestApi, name: string, factory: (clock: Clock) => Promise<StoreUnderTest>): void {
  const { afterEach, beforeEach, describe, expect, it } = test;
  describe(`session store conformance: ${name}`, () => {
    let now = T0;
    const clock: Clock = () => now;
    let sut: StoreUnderTest;

    beforeEach(async () => {
      now = T0;
      sut = await factory(clock);
    });

    afterEach(async () => {
      await sut.store.close();
      await sut.cleanup();
    });

    const suite: ConformanceSuite = {
      it,
      expect,
      get store() {
        return sut.store;
      },
      get sut() {
        return sut;
      },
      get now() {
        return now;
      },
      set now(at: number) {
        now = at;
      },
    };

    // The groups of cases, in this order (each file says what it covers).
    recordCases(suite);
    expiryCases(suite);
    updateCases(suite);
    deleteCases(suite);
    listingCases(suite);
    lifecycleCases(suite);
  });
}
