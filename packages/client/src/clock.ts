/**
 * Time for the client's expiry timers. Injected so tests move time instead of sleeping; the
 * default is the browser's own clock and timers.
 */
export interface GatehouseClock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** `Date.now` and the global timers. */
export const systemClock: GatehouseClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};
