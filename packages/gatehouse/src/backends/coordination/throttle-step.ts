import type { FailureRule, ThrottleEntry } from './throttle-types.js';

/**
 * The throttle's rule for one failure, as plain arithmetic. The memory backend runs it as is; the
 * Redis script (throttle-redis.ts) and the PostgreSQL upsert (throttle-postgres.ts) compute the
 * same thing inside the store, so that each failure is one atomic step there too.
 *
 * OWASP Authentication CS ("Account Lockout"): `limit` failures within `window` (counted from the
 * first) lock the key for `lockout`; each further lock of the episode doubles, up to `maxLockout`;
 * the doubling is forgotten once `window` has passed since the last lock ended.
 */

/** More doublings than this overflow any sane `maxLockout` anyway. */
export const MAX_LOCKOUTS = 32;

/** A key with no entry yet (or an expired one). */
export function freshEntry(now: number): ThrottleEntry {
  return { failures: 0, windowStart: now, lockouts: 0, lockedUntil: 0 };
}

/** When nothing about the entry matters any more. */
export function entryExpiresAt(e: ThrottleEntry, window: number): number {
  return Math.max(e.lockedUntil + window, e.failures > 0 ? e.windowStart + window : 0);
}

/** The entry after one failure, or null when the key is locked (the failure is refused: nothing changes). */
export function stepFailure(
  current: ThrottleEntry | undefined,
  { now, window, limit, lockout, maxLockout }: FailureRule,
): { entry: ThrottleEntry; locked: boolean; expiresAt: number } | null {
  const entry = { ...(current ?? freshEntry(now)) };
  // A refused attempt is not an attempt: failures during a lock neither count nor extend it.
  if (entry.lockedUntil > now) return null;
  if (entry.lockouts > 0 && now >= entry.lockedUntil + window) entry.lockouts = 0;
  if (entry.failures === 0 || now - entry.windowStart >= window) {
    entry.failures = 0;
    entry.windowStart = now;
  }
  entry.failures += 1;
  const locked = entry.failures >= limit;
  if (locked) {
    entry.lockedUntil = now + Math.min(lockout * 2 ** entry.lockouts, maxLockout);
    entry.lockouts = Math.min(entry.lockouts + 1, MAX_LOCKOUTS);
    entry.failures = 0;
  }
  return { entry, locked, expiresAt: entryExpiresAt(entry, window) };
}
