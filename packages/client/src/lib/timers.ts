import type { GatehouseClock } from '../clock.js';

/** `setTimeout` takes a signed 32-bit delay (~24.8 days); a longer one would fire at once. */
const MAX_DELAY = 2 ** 31 - 1;

/** One-shot timers at absolute times of the client's clock, all cleared together. */
export class Timers {
  private readonly handles = new Set<unknown>();

  constructor(private readonly clock: GatehouseClock) {}

  /** Runs `callback` once the clock reads `time` or later. */
  at(time: number, callback: () => void): void {
    const delay = Math.min(Math.max(0, time - this.clock.now()), MAX_DELAY);
    const handle = this.clock.setTimeout(() => {
      this.handles.delete(handle);
      // Long waits are chained; a timer that fired early (clock adjusted) waits again.
      if (this.clock.now() < time) this.at(time, callback);
      else callback();
    }, delay);
    this.handles.add(handle);
  }

  clear(): void {
    for (const handle of this.handles) this.clock.clearTimeout(handle);
    this.handles.clear();
  }
}
