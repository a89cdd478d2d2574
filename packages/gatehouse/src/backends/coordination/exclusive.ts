import { setTimeout as delay } from 'node:timers/promises';
import type { Coordination } from './types.js';

export interface ExclusiveOptions {
  /** The lock frees itself after this long, should its holder die. Longer than the task ever takes. */
  ttlMs: number;
  /** How long to wait for another holder before giving up with `busy()`. */
  waitMs: number;
  /** The error thrown when the lock stayed taken for `waitMs`. */
  busy: () => Error;
  /** How often a waiting caller tries again. Default 20 ms. */
  pollMs?: number;
}

/**
 * Runs `task` while holding the coordination lock `key`: one holder at a time across every
 * instance that shares the coordination state. Waits (wall-clock) for another holder, up to
 * `waitMs`. The lock is released when the task settles, whatever the outcome.
 */
export async function exclusive<T>(coordination: Coordination, key: string, options: ExclusiveOptions, task: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const lock = await coordination.tryLock(key, options.ttlMs);
    if (lock) {
      try {
        return await task();
      } finally {
        await lock.release();
      }
    }
    if (Date.now() >= deadline) throw options.busy();
    await delay(options.pollMs ?? 20);
  }
}
