// The throttle's storage contract: what local/throttle.ts keeps per key and where. Here, below
// both the throttle and the coordination back ends that implement it, so neither imports the other.

/** The state kept per key. Plain data, so a shared backend (Redis) can store it as is. */
export interface ThrottleEntry {
  /** Failures counted in the current window. */
  failures: number;
  /** When the current window began (the first failure in it), epoch ms. */
  windowStart: number;
  /** Locks so far in this episode; the next lock lasts `lockout * 2^lockouts`. */
  lockouts: number;
  /** Epoch ms; locked while the clock is before it. 0 when never locked. */
  lockedUntil: number;
}

/** The limits one failure is counted under (see `stepFailure` for what they do). Durations in ms. */
export interface FailureRule {
  /** The throttle's clock at the failure, epoch ms. */
  now: number;
  /** Failures counted from the first one in a window; also how long a lock's doubling is remembered. */
  window: number;
  /** Failures within `window` that lock the key. */
  limit: number;
  /** First lock; doubles on each further lock of the episode. */
  lockout: number;
  /** Longest lock. */
  maxLockout: number;
}

/**
 * What one failure did: `counted` it, `locked` the key (this very failure reached the limit), or
 * `refused` (the key was locked already: a refused attempt neither counts nor extends the lock).
 */
export type FailureOutcome = 'counted' | 'locked' | 'refused';

/**
 * Where throttle state lives. The in-memory one is per process; a shared one lets several
 * instances agree. Keys are opaque (hashed) and `expiresAt` says when an entry may be dropped.
 */
export interface ThrottleBackend {
  get(key: string): Promise<ThrottleEntry | undefined>;
  /**
   * Counts one failure in ONE atomic step (read, count, lock, write, with no other update to the
   * key in between), as `stepFailure` describes; an expired entry counts as absent. Atomic so that
   * failures recorded at once on several instances are all counted without a lock around them.
   */
  recordFailure(key: string, rule: FailureRule): Promise<FailureOutcome>;
  /** Writes an entry as is (tests, tooling); the throttle itself only counts through `recordFailure`. */
  set(key: string, entry: ThrottleEntry, expiresAt: number): Promise<void>;
  delete(key: string): Promise<void>;
}
