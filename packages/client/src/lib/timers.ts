import type { GatehouseClock } from '../clock.js';

/** `setTimeout` takes a signed 32-bit delay (~24.8 days); a longer one would fire at once. */
const MAX_DELAY = 2 ** 31 - 1;

interface Timer {
  time: number;
  callback: () => void;
  handle?: unknown;
}

/** One-shot timers at absolute times of the client's clock, all cleared together. */
export class Timers {
  private readonly timers = new Set<Timer>();

  constructor(private readonly clock: GatehouseClock) {}

  /** Runs `callback` once the clock reads `time` or later. */
  at(time: number, callback: () => void): void {
    const timer: Timer = { time, callback };
    this.timers.add(timer);
    this.arm(timer);
  }

  /**
   * Runs at once, in time order, every timer whose time has passed. `setTimeout` does not count
   * time the machine slept, so after a wake-up (the page visible again, back online) a timer may
   * still be waiting for an expiry long gone.
   */
  due(): void {
    const now = this.clock.now();
    for (const timer of [...this.timers].filter((t) => t.time <= now).sort((a, b) => a.time - b.time)) {
      // An earlier callback may have cleared the rest (a sign-out).
      if (this.timers.has(timer)) this.fire(timer);
    }
  }

  clear(): void {
    for (const timer of this.timers) this.clock.clearTimeout(timer.handle);
    this.timers.clear();
  }

  private arm(timer: Timer): void {
    const delay = Math.min(Math.max(0, timer.time - this.clock.now()), MAX_DELAY);
    timer.handle = this.clock.setTimeout(() => {
      // Long waits are chained; a timer that fired early (clock adjusted) waits again.
      if (this.clock.now() < timer.time) this.arm(timer);
      else this.fire(timer);
    }, delay);
  }

  private fire(timer: Timer): void {
    this.clock.clearTimeout(timer.handle);
    this.timers.delete(timer);
    timer.callback();
  }
}
