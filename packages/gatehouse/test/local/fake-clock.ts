/** A clock tests move by hand: `clock.now` is mutable, nothing sleeps. */
export interface FakeClock {
  (): number;
  now: number;
  advance(ms: number): void;
}

export function fakeClock(start = Date.UTC(2030, 0, 1)): FakeClock {
  const clock = (() => clock.now) as FakeClock;
  clock.now = start;
  clock.advance = (ms) => {
    clock.now += ms;
  };
  return clock;
}
