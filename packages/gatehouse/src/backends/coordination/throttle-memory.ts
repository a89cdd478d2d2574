import { type Clock, systemClock } from '../../clock.js';
import { stepFailure } from './throttle-step.js';
import type { ThrottleBackend, ThrottleEntry } from './throttle-types.js';

export interface MemoryThrottleBackendOptions {
  clock?: Clock;
  /** Most keys kept; beyond it the least recently updated is dropped. Default 100 000. */
  maxKeys?: number | undefined;
}

/** The in-process backend, with its size exposed for tests and metrics. */
export interface MemoryThrottleBackend extends ThrottleBackend {
  readonly size: number;
}

/** Expired entries looked at per write. Small, so a write stays O(1). */
const SWEEP = 16;

/**
 * Throttle state in a `Map`, per process. Memory is bounded: expired entries are dropped as they
 * are met, and at most `maxKeys` entries are kept (least recently updated evicted first).
 *
 * The bound is a trade-off worth knowing: a client that sprays more than `maxKeys` distinct
 * usernames within a window can push out an older lock. It cannot do so from one address without
 * first being throttled by the per-address limit; a shared backend removes the trade-off.
 */
export function createMemoryThrottleBackend(options: MemoryThrottleBackendOptions = {}): MemoryThrottleBackend {
  const clock = options.clock ?? systemClock;
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError('maxKeys must be a positive integer');
  // Insertion order = update order, because set() re-inserts: the first key is the stalest.
  const entries = new Map<string, { entry: ThrottleEntry; expiresAt: number }>();

  return {
    get size() {
      return entries.size;
    },

    async get(key) {
      const entry = live(key);
      return entry && { ...entry };
    },

    async recordFailure(key, rule) {
      // Synchronous from read to write: no other update can run in between (one event loop).
      const step = stepFailure(live(key), rule);
      if (!step) return 'refused';
      store(key, step.entry, step.expiresAt);
      return step.locked ? 'locked' : 'counted';
    },

    async set(key, entry, expiresAt) {
      store(key, { ...entry }, expiresAt);
    },

    async delete(key) {
      entries.delete(key);
    },
  };

  /** The entry at `key` unless it has expired (then it is dropped). */
  function live(key: string): ThrottleEntry | undefined {
    const slot = entries.get(key);
    if (!slot) return undefined;
    if (slot.expiresAt <= clock()) {
      entries.delete(key);
      return undefined;
    }
    return slot.entry;
  }

  function store(key: string, entry: ThrottleEntry, expiresAt: number): void {
    entries.delete(key);
    entries.set(key, { entry, expiresAt });
    const now = clock();
    let looked = 0;
    for (const [k, slot] of entries) {
      if (++looked > SWEEP) break;
      if (slot.expiresAt <= now) entries.delete(k);
    }
    while (entries.size > maxKeys) {
      const oldest = entries.keys().next();
      if (oldest.done) break;
      entries.delete(oldest.value);
    }
  }
}
