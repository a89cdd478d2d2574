import { describe, expect, it } from 'vitest';
import * as vitest from 'vitest';
import { createMemoryStore } from '../../src/backends/stores/memory.js';
import { makeRecord, runStoreConformance } from '../../src/testing/index.js';

runStoreConformance(vitest, 'memory', async (clock) => ({
  store: createMemoryStore({ clock }),
  cleanup: async () => {},
}));

describe('memory store', () => {
  it('sweep drops expired records and their user index entries', async () => {
    let now = Date.UTC(2030, 0, 1);
    const store = createMemoryStore({ clock: () => now });
    try {
      const stale = makeRecord({ userId: 'u1', createdAt: now, idleExpiresAt: now + 1000 });
      const fresh = makeRecord({ userId: 'u2', createdAt: now });
      await store.set(stale);
      await store.set(fresh);
      now += 1000;
      expect(store.sweep()).toBe(1);
      expect(store.sweep()).toBe(0);
      expect(await store.listByUser('u1')).toStrictEqual([]);
      expect(await store.get(fresh.id)).toStrictEqual(fresh);
    } finally {
      await store.close();
    }
  });
});
