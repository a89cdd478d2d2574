import { type Clock, systemClock } from '../../clock.js';
import { createMemoryThrottleBackend } from './throttle-memory.js';
import type { Coordination, Lock } from './types.js';

export interface MemoryCoordinationOptions {
  clock?: Clock;
  /** Most entries kept per map (locks, marks, values); the stalest are dropped beyond it. Default 100 000. */
  maxKeys?: number;
}

/**
 * Coordination within one process (memory and SQLite session stores). Bounded: expired entries
 * are dropped as they are met and at most `maxKeys` are kept per map.
 */
export function createMemoryCoordination(options: MemoryCoordinationOptions = {}): Coordination {
  const clock = options.clock ?? systemClock;
  const maxKeys = options.maxKeys ?? 100_000;
  const locks = new Map<string, { owner: symbol; expiresAt: number }>();
  const values = new Map<string, { value: string; expiresAt: number }>();
  // One-time marks apart from values: a flood of marks (one per login callback) must not push the
  // long-lived `sid` → user values out, and marks of one TTL expire in insertion order, which the
  // sweep in insert() then reclaims in O(1) per mark.
  const marks = new Map<string, { expiresAt: number }>();

  function live<T extends { expiresAt: number }>(map: Map<string, T>, key: string): T | undefined {
    const slot = map.get(key);
    if (slot && slot.expiresAt <= clock()) {
      map.delete(key);
      return undefined;
    }
    return slot;
  }

  function insert<T extends { expiresAt: number }>(map: Map<string, T>, key: string, slot: T): void {
    map.delete(key);
    map.set(key, slot);
    const now = clock();
    let looked = 0;
    for (const [k, s] of map) {
      if (++looked > 16) break;
      if (s.expiresAt <= now) map.delete(k);
    }
    while (map.size > maxKeys) map.delete(map.keys().next().value as string);
  }

  return {
    throttle: createMemoryThrottleBackend({ clock, maxKeys }),

    async tryLock(key, ttlMs): Promise<Lock | null> {
      if (live(locks, key)) return null;
      const owner = Symbol(key);
      insert(locks, key, { owner, expiresAt: clock() + ttlMs });
      return {
        release: async () => {
          if (locks.get(key)?.owner === owner) locks.delete(key);
        },
      };
    },

    async claimOnce(key, ttlMs) {
      if (live(marks, key)) return false;
      insert(marks, key, { expiresAt: clock() + ttlMs });
      return true;
    },

    async put(key, value, ttlMs) {
      insert(values, `value\0${key}`, { value, expiresAt: clock() + ttlMs });
    },

    async get(key) {
      return live(values, `value\0${key}`)?.value ?? null;
    },

    async close() {
      locks.clear();
      values.clear();
      marks.clear();
    },
  };
}
