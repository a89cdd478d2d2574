/**
 * `gatehouse/testing`: the session store contract as a test suite, for a store of your own.
 * It imports no test framework: hand it yours (vitest, or any with its Jest-style API and `ctx.skip()`).
 *
 * ```ts
 * import * as vitest from 'vitest';
 * import { runStoreConformance } from 'gatehouse/testing';
 * runStoreConformance(vitest, 'my store', async (clock) => {
 *   const store = await openMyStore({ clock });
 *   return { store, cleanup: () => dropMyTestData() };
 * });
 * ```
 */
export {
  type ConformanceAssertion,
  type ConformanceTestApi,
  makeRecord,
  runStoreConformance,
  type StoreUnderTest,
} from './store-conformance.js';
