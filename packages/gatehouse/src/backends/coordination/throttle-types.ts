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

/**
 * Where throttle state lives. The in-memory one is per process; a shared one lets several
 * instances agree. Keys are opaque (hashed) and `expiresAt` says when an entry may be dropped.
 */
export interface ThrottleBackend {
  get(key: string): Promise<ThrottleEntry | undefined>;
  set(key: string, entry: ThrottleEntry, expiresAt: number): Promise<void>;
  delete(key: string): Promise<void>;
}
