/**
 * The fair scheduler in front of argon2, driven by hand: each task is a promise the test settles,
 * so the order of service is observed exactly, with no timing involved.
 */
import { describe, expect, it } from 'vitest';
import { createFairQueue, type FairQueueOptions, FairQueueRefusedError } from '../../src/local/fair-queue.js';

interface Handle {
  name: string;
  finish(): void;
}

function harness(options: FairQueueOptions) {
  const queue = createFairQueue(options);
  const started: Handle[] = [];
  const outcomes = new Map<string, string>();
  let running = 0;
  let peak = 0;
  const submit = (name: string, ...keys: [string, ...string[]]) => {
    const promise = queue.run(
      keys,
      () =>
        new Promise<string>((resolve) => {
          running++;
          peak = Math.max(peak, running);
          started.push({
            name,
            finish: () => {
              running--;
              resolve(name);
            },
          });
        }),
    );
    promise.then(
      () => outcomes.set(name, 'done'),
      (e: unknown) => outcomes.set(name, e instanceof FairQueueRefusedError ? e.reason : `error: ${String(e)}`),
    );
    return promise.catch(() => undefined);
  };
  /** Finishes the oldest running task and lets the queue start the next. */
  const finishOldest = async () => {
    const running = started.filter((h) => !outcomes.has(h.name));
    running[0]?.finish();
    await flush();
  };
  const order = () => started.map((h) => h.name);
  return { queue, submit, finishOldest, order, outcomes, started, peak: () => peak };
}

/** Lets settled promises run their callbacks (microtasks only, no timers). */
async function flush() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('fair queue (deficit round robin over client keys, bounded)', () => {
  it('serves flows round robin: a flow with a backlog does not delay a newcomer by its backlog', async () => {
    const h = harness({ concurrency: 1, capacity: 32, perKey: 10 });
    for (let i = 1; i <= 6; i++) h.submit(`flood${i}`, 'A');
    h.submit('b1', 'B');
    h.submit('c1', 'C');
    h.submit('b2', 'B');
    for (let i = 0; i < 9; i++) await h.finishOldest();
    // flood1 was already running; then one job per flow per turn.
    expect(h.order()).toEqual(['flood1', 'flood2', 'b1', 'c1', 'flood3', 'b2', 'flood4', 'flood5', 'flood6']);
  });

  it('never runs more than `concurrency` jobs at once, nor admits more than `capacity`', async () => {
    const h = harness({ concurrency: 3, capacity: 8, perKey: 100 });
    // 20 flows with one job each: every job past the capacity is refused or takes a place from another.
    for (let i = 0; i < 20; i++) h.submit(`j${i}`, `F${i}`);
    await flush();
    expect(h.queue.stats()).toEqual({ running: 3, waiting: 5, peakRunning: 3 });
    expect([...h.outcomes.values()].filter((o) => o === 'full' || o === 'evicted')).toHaveLength(12);
    for (let i = 0; i < 8; i++) await h.finishOldest();
    expect(h.peak()).toBe(3);
    expect(h.queue.stats()).toEqual({ running: 0, waiting: 0, peakRunning: 3 });
    expect([...h.outcomes.values()].filter((o) => o === 'done')).toHaveLength(8);
  });

  it('runs one job per key at once: a flow alone gets one hashing slot, not all of them', async () => {
    const h = harness({ concurrency: 3, capacity: 8, perKey: 8 });
    for (let i = 0; i < 4; i++) h.submit(`a${i}`, 'A');
    h.submit('b0', 'B');
    await flush();
    expect(h.order()).toEqual(['a0', 'b0']);
    expect(h.queue.stats()).toEqual({ running: 2, waiting: 3, peakRunning: 2 });
  });

  it('refuses a key past `perKey` with key_full for that key only', async () => {
    const h = harness({ concurrency: 1, capacity: 32, perKey: 2 });
    h.submit('a1', 'A');
    h.submit('a2', 'A');
    h.submit('a3', 'A');
    h.submit('b1', 'B');
    await flush();
    expect(h.outcomes.get('a3')).toBe('key_full');
    expect(h.outcomes.has('b1')).toBe(false);
    // Places come back as jobs finish.
    await h.finishOldest();
    h.submit('a4', 'A');
    await flush();
    expect(h.outcomes.has('a4')).toBe(false);
  });

  it('caps and serializes every key of a job: the second key (a username) shared by two flows runs one job at a time', async () => {
    const h = harness({ concurrency: 4, capacity: 32, perKey: 2 });
    h.submit('x-alice', 'X', 'u:alice');
    h.submit('y-alice', 'Y', 'u:alice');
    h.submit('z-alice', 'Z', 'u:alice');
    h.submit('y-bob', 'Y', 'u:bob');
    await flush();
    expect(h.outcomes.get('z-alice')).toBe('key_full');
    // y-alice waits for alice; Y's next job waits behind it (per-flow order), X is running: only one job runs.
    expect(h.order()).toEqual(['x-alice']);
    h.submit('w-carol', 'W', 'u:carol');
    await flush();
    // A blocked flow does not block the others.
    expect(h.order()).toEqual(['x-alice', 'w-carol']);
    await h.finishOldest();
    expect(h.order()).toEqual(['x-alice', 'w-carol', 'y-alice']);
    await h.finishOldest();
    await h.finishOldest();
    expect(h.order()).toEqual(['x-alice', 'w-carol', 'y-alice', 'y-bob']);
  });

  it('when full, a newcomer is admitted by evicting the newest job of a longer flow; a newcomer whose flow would become as long as the longest is refused', async () => {
    const h = harness({ concurrency: 1, capacity: 5, perKey: 10 });
    h.submit('x1', 'X');
    for (let i = 1; i <= 3; i++) h.submit(`a${i}`, 'A');
    h.submit('b1', 'B');
    await flush();
    expect(h.queue.stats()).toEqual({ running: 1, waiting: 4, peakRunning: 1 });
    // Full. C waits with nothing: A (3 waiting) gives up its newest.
    h.submit('c1', 'C');
    await flush();
    expect(h.outcomes.get('a3')).toBe('evicted');
    // B waits with 1 and would have 2, A waits with 2. Before the tie-break rule this evicted a2,
    // which only swapped the two (A 1, B 2): no client was served sooner, one that had waited
    // lost its place. The rule: evict only from a flow longer than the newcomer's would become.
    h.submit('b2', 'B');
    await flush();
    expect(h.outcomes.get('b2')).toBe('full');
    expect(h.outcomes.has('a2')).toBe(false);
    // A waits with 2, the most of anyone: its own new job is refused, nobody else's.
    h.submit('a4', 'A');
    await flush();
    expect(h.outcomes.get('a4')).toBe('full');
    // D waits with nothing and would have 1: A (2) is longer, so A's newest goes.
    h.submit('d1', 'D');
    await flush();
    expect(h.outcomes.get('a2')).toBe('evicted');
    // Now every flow waits with one job: a newcomer evicts nobody and is refused.
    h.submit('e1', 'E');
    await flush();
    expect(h.outcomes.get('e1')).toBe('full');
    expect(h.queue.stats()).toEqual({ running: 1, waiting: 4, peakRunning: 1 });
    for (let i = 0; i < 5; i++) await h.finishOldest();
    expect(h.order().sort()).toEqual(['a1', 'b1', 'c1', 'd1', 'x1']);
    expect(h.queue.stats()).toEqual({ running: 0, waiting: 0, peakRunning: 1 });
  });

  it('tie-break: when every waiting flow has one job, a flood of new one-job flows evicts nobody: those who got in first are served', async () => {
    const h = harness({ concurrency: 2, capacity: 8, perKey: 4 });
    for (let i = 0; i < 8; i++) h.submit(`first${i}`, `F${i}`);
    for (let i = 0; i < 64; i++) h.submit(`late${i}`, `L${i}`);
    await flush();
    expect([...h.outcomes.values()].filter((o) => o === 'evicted')).toHaveLength(0);
    expect(Array.from({ length: 64 }, (_, i) => h.outcomes.get(`late${i}`))).toEqual(Array(64).fill('full'));
    for (let i = 0; i < 8; i++) await h.finishOldest();
    expect(Array.from({ length: 8 }, (_, i) => h.outcomes.get(`first${i}`))).toEqual(Array(8).fill('done'));
  });

  it('a client signing in one attempt at a time is never refused while flooding flows keep the queue full', async () => {
    const h = harness({ concurrency: 2, capacity: 10, perKey: 4 });
    const floods = ['A', 'B', 'C', 'D'];
    let n = 0;
    const flood = () => {
      for (const flow of floods) h.submit(`${flow}-${n++}`, flow);
    };
    flood();
    flood();
    let legit = 0;
    h.submit('legit0', 'L');
    for (let step = 0; step < 200 && legit < 20; step++) {
      await h.finishOldest();
      // The floods take every freed place before the legitimate client comes back.
      flood();
      expect(h.queue.stats().running + h.queue.stats().waiting).toBe(10);
      if (h.outcomes.has(`legit${legit}`)) {
        legit++;
        h.submit(`legit${legit}`, 'L');
      }
      expect(h.queue.stats().running + h.queue.stats().waiting).toBeLessThanOrEqual(10);
    }
    const outcomes = Array.from({ length: 20 }, (_, i) => h.outcomes.get(`legit${i}`));
    expect(outcomes).toEqual(Array(20).fill('done'));
    // The floods were refused plenty meanwhile.
    expect([...h.outcomes.values()].filter((o) => o === 'full' || o === 'evicted' || o === 'key_full').length).toBeGreaterThan(100);
    expect(h.peak()).toBe(2);
  });

  describe('reserved lane (trusted-device sign-ins, OWASP Slow Down Online Guessing Attacks with Device Cookies)', () => {
    /** Like harness().submit, in the reserved lane. */
    function reservedHarness(options: FairQueueOptions) {
      const h = harness(options);
      const submitReserved = (name: string, ...keys: [string, ...string[]]) => {
        const promise = h.queue.run(
          keys,
          () =>
            new Promise<string>((resolve) => {
              h.started.push({ name, finish: () => resolve(name) });
            }),
          undefined,
          'reserved',
        );
        promise.then(
          () => h.outcomes.set(name, 'done'),
          (e: unknown) => h.outcomes.set(name, e instanceof FairQueueRefusedError ? e.reason : `error: ${String(e)}`),
        );
      };
      return { ...h, submitReserved };
    }

    it('keeps its places and runner: a shared lane full of one-job flows cannot take them, and a reserved job starts at once', async () => {
      const h = reservedHarness({ concurrency: 4, capacity: 32, perKey: 4, reserved: { capacity: 8, concurrency: 1 } });
      for (let i = 0; i < 64; i++) h.submit(`bot${i}`, `B${i}`);
      await flush();
      // The shared lane holds its 24 places and runs on 3 runners, never the 4th.
      expect(h.queue.stats()).toEqual({ running: 3, waiting: 21, peakRunning: 3 });
      expect([...h.outcomes.values()].filter((o) => o === 'full')).toHaveLength(40);
      h.submitReserved('alice', 'd:alice-device');
      await flush();
      expect(h.order()).toContain('alice');
      expect(h.queue.stats()).toEqual({ running: 4, waiting: 21, peakRunning: 4 });
    });

    it('is served first: when a runner frees, a waiting reserved job starts before any shared job', async () => {
      const h = reservedHarness({ concurrency: 2, capacity: 16, perKey: 4, reserved: { capacity: 4, concurrency: 1 } });
      h.submitReserved('r1', 'd:1');
      h.submitReserved('r2', 'd:2');
      h.submitReserved('r3', 'd:3');
      for (let i = 0; i < 6; i++) h.submit(`s${i}`, `S${i}`);
      await flush();
      // r1 runs; the reserved lane may also take the free shared runner.
      expect(h.order()).toEqual(['r1', 'r2']);
      await h.finishOldest();
      expect(h.order()).toEqual(['r1', 'r2', 'r3']);
      await h.finishOldest();
      expect(h.order()).toEqual(['r1', 'r2', 'r3', 's0']);
    });

    it('never lets the shared lane evict a reserved job, and refuses a reserved job (full) only when the whole capacity is taken', async () => {
      const h = reservedHarness({ concurrency: 1, capacity: 4, perKey: 4, reserved: { capacity: 2, concurrency: 0 } });
      h.submitReserved('r1', 'd:1');
      h.submitReserved('r2', 'd:1');
      h.submitReserved('r3', 'd:1');
      await flush();
      // No reserved runner: r1 runs on the shared one; 3 reserved jobs hold 3 of 4 places.
      h.submit('s1', 'S');
      h.submit('s2', 'T');
      h.submitReserved('r4', 'd:2');
      await flush();
      // s1 took the last place; s2 found no shared job to evict (the reserved jobs are not its to take).
      expect(h.outcomes.get('s2')).toBe('full');
      expect(h.outcomes.get('r4')).toBe('full');
      expect([...h.outcomes.values()].filter((o) => o === 'evicted')).toHaveLength(0);
      expect(h.queue.stats()).toEqual({ running: 1, waiting: 3, peakRunning: 1 });
    });

    it('caps and serializes its keys like the shared lane (perKey per device)', async () => {
      const h = reservedHarness({ concurrency: 4, capacity: 16, perKey: 2, reserved: { capacity: 8, concurrency: 1 } });
      h.submitReserved('d1', 'd:X');
      h.submitReserved('d2', 'd:X');
      h.submitReserved('d3', 'd:X');
      await flush();
      expect(h.outcomes.get('d3')).toBe('key_full');
      expect(h.order()).toEqual(['d1']);
    });

    it('refuses reserving all of the capacity or concurrency', () => {
      expect(() => createFairQueue({ concurrency: 2, capacity: 4, perKey: 1, reserved: { capacity: 4, concurrency: 1 } })).toThrow(RangeError);
      expect(() => createFairQueue({ concurrency: 2, capacity: 4, perKey: 1, reserved: { capacity: 1, concurrency: 2 } })).toThrow(RangeError);
      expect(() => createFairQueue({ concurrency: 2, capacity: 4, perKey: 1, reserved: { capacity: -1, concurrency: 0 } })).toThrow(RangeError);
    });
  });

  it('passes a task failure through and frees its place', async () => {
    const queue = createFairQueue({ concurrency: 1, capacity: 1, perKey: 1 });
    await expect(queue.run(['A'], () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(
      queue.run(['A'], () => {
        throw new Error('sync boom');
      }),
    ).rejects.toThrow('sync boom');
    await expect(queue.run(['A'], async () => 'ok')).resolves.toBe('ok');
    expect(queue.stats()).toEqual({ running: 0, waiting: 0, peakRunning: 1 });
  });

  it('refuses nonsensical bounds', () => {
    expect(() => createFairQueue({ concurrency: 0, capacity: 1, perKey: 1 })).toThrow(RangeError);
    expect(() => createFairQueue({ concurrency: 2, capacity: 1, perKey: 1 })).toThrow(RangeError);
    expect(() => createFairQueue({ concurrency: 1, capacity: 1, perKey: 1.5 })).toThrow(RangeError);
  });
});
