import type { ThrottleBackend } from './throttle-types.js';

/**
 * State that several gateway instances must agree on, beyond the sessions themselves: login
 * throttle counters, single-flight locks (token refresh), one-time markers (back-channel logout
 * `jti`) and small lookups (back-channel `sid` → user). One process uses the in-memory backend;
 * with a Redis or PostgreSQL session store the same backend holds this state too, so every
 * instance sees it.
 *
 * Keys are opaque strings chosen by the callers; backends add their own prefix. Every method of a
 * networked backend rejects with `StoreUnavailableError` when the backend cannot answer, so the
 * callers fail closed (503).
 */
export interface Coordination {
  /** Login throttle counters shared by every instance. */
  readonly throttle: ThrottleBackend;
  /**
   * Take the lock `key` for at most `ttlMs` (it frees itself after that, should the holder die).
   * Resolves to null at once when another holder has it: callers decide whether to wait.
   */
  tryLock(key: string, ttlMs: number): Promise<Lock | null>;
  /** Mark `key` for `ttlMs`. True the first time; false while the mark lives (replay detection). */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** A small string value with a lifetime. */
  put(key: string, value: string, ttlMs: number): Promise<void>;
  /** The value, or null when unknown or expired. */
  get(key: string): Promise<string | null>;
  close(): Promise<void>;
}

export interface Lock {
  /** Frees the lock if this holder still has it (never someone else's after a TTL expiry). */
  release(): Promise<void>;
}
