/**
 * A fair scheduler for expensive work (argon2 verifications): each client gets its share of a
 * bounded capacity, so a flood from some clients cannot starve the others.
 *
 * - At most `concurrency` jobs run at once, and at most `capacity` are admitted (waiting or
 *   running) over all clients: the global bound on memory and CPU never moves.
 * - Each job names its keys (for a sign-in: the client address, then the username). The first is
 *   its *flow*, the unit of fairness. Every key is capped at `perKey` admitted jobs (excess:
 *   `key_full`, for that key only) and runs one job at a time (a job holds all its keys while it
 *   runs), so per-key counters are checked and updated with no other job of that key in between.
 * - Flows are served round robin: deficit round robin (Shreedhar & Varghese, 1995) with every job
 *   costing one quantum, which is plain round robin. A flow whose next job waits for a key held by
 *   a running job is skipped for this turn, not blocking the others.
 * - When the capacity is full, a job from a flow with fewer waiting jobs than the longest flow is
 *   admitted by refusing the newest waiting job of that longest flow (`evicted`): a newcomer is
 *   always let in ahead of a flooder's backlog. A job whose flow is already (one of) the longest
 *   is refused (`full`).
 * - A waiting job whose `signal` aborts (the client hung up) leaves the queue at once
 *   (`abandoned`) and frees its places: nobody is waiting for its answer, so it must not cost an
 *   argon2 verification, and a flooder cannot fill the capacity with requests it has already
 *   dropped (OWASP Denial of Service CS: release resources of abandoned requests). A running job
 *   runs to its end: its throttle update must happen.
 *
 * Everything is synchronous bookkeeping around the tasks' promises: no timers, so the order of
 * service is deterministic and tests need no sleeps.
 */

/** Why a job was not run. */
export type FairQueueRefusal = 'key_full' | 'full' | 'evicted' | 'abandoned';

/** Rejects a job that was refused or evicted; `key` names the key that was full, for `key_full`. */
export class FairQueueRefusedError extends Error {
  constructor(
    readonly reason: FairQueueRefusal,
    readonly key?: string,
  ) {
    super(`job ${reason}${key === undefined ? '' : ` (${key})`}`);
    this.name = 'FairQueueRefusedError';
  }
}

export interface FairQueueOptions {
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs admitted at once (waiting + running), over all flows. At least `concurrency`. */
  capacity: number;
  /** Jobs admitted at once per key. */
  perKey: number;
}

export interface FairQueueStats {
  running: number;
  waiting: number;
  /** Most jobs that ever ran at once. */
  peakRunning: number;
}

export interface FairQueue {
  /**
   * Runs `task` when its turn comes. `keys[0]` is the flow; all keys are capped and serialized.
   * @param signal aborts a job still waiting (not one running): it is dropped, `abandoned`.
   * @throws FairQueueRefusedError when refused at once (`key_full`, `full`, or `abandoned` for a
   *   signal already aborted) or later (`evicted`, `abandoned`).
   */
  run<T>(keys: readonly [string, ...string[]], task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  stats(): FairQueueStats;
}

interface Job {
  keys: readonly string[];
  start: () => void;
  refuse: (error: FairQueueRefusedError) => void;
}

function positive(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
}

export function createFairQueue(options: FairQueueOptions): FairQueue {
  const { concurrency, capacity, perKey } = options;
  positive('concurrency', concurrency);
  positive('capacity', capacity);
  positive('perKey', perKey);
  if (capacity < concurrency) throw new RangeError('capacity must be at least concurrency');

  /** Waiting jobs per flow, oldest first. A flow is in `ring` exactly while it has waiting jobs. */
  const waiting = new Map<string, Job[]>();
  /** Round-robin order of the flows with waiting jobs; `cursor` is where the next turn starts. */
  const ring: string[] = [];
  let cursor = 0;
  /** Admitted jobs (waiting or running) per key, for `perKey`. */
  const admitted = new Map<string, number>();
  /** Keys held by running jobs. */
  const held = new Set<string>();
  let running = 0;
  let waitingCount = 0;
  let peakRunning = 0;

  const count = (key: string, delta: number) => {
    const n = (admitted.get(key) ?? 0) + delta;
    if (n === 0) admitted.delete(key);
    else admitted.set(key, n);
  };

  /** Takes a waiting job out of its flow (evicted or abandoned); false when it is no longer waiting. */
  function unqueue(flow: string, job: Job): boolean {
    const queue = waiting.get(flow);
    const at = queue?.indexOf(job) ?? -1;
    if (!queue || at === -1) return false;
    queue.splice(at, 1);
    waitingCount--;
    if (queue.length === 0) {
      waiting.delete(flow);
      removeFromRing(flow);
    }
    return true;
  }

  function removeFromRing(flow: string): void {
    const at = ring.indexOf(flow);
    ring.splice(at, 1);
    if (at < cursor) cursor--;
    if (cursor >= ring.length) cursor = 0;
  }

  /** Takes the next runnable job, round robin over the flows; null when none can run now. */
  function next(): Job | null {
    for (let looked = 0; looked < ring.length; looked++) {
      const at = (cursor + looked) % ring.length;
      const flow = ring[at] as string;
      const queue = waiting.get(flow) as Job[];
      const head = queue[0] as Job;
      if (head.keys.some((k) => held.has(k))) continue;
      queue.shift();
      waitingCount--;
      if (queue.length === 0) {
        waiting.delete(flow);
        ring.splice(at, 1);
        cursor = ring.length === 0 ? 0 : at % ring.length;
      } else {
        cursor = (at + 1) % ring.length;
      }
      return head;
    }
    return null;
  }

  function pump(): void {
    while (running < concurrency) {
      const job = next();
      if (!job) return;
      job.start();
    }
  }

  /** Frees a place for a job of `flow` by evicting the longest flow's newest job; false when `flow` is the longest. */
  function evictFor(flow: string): boolean {
    const own = waiting.get(flow)?.length ?? 0;
    let longest: string | undefined;
    let longestLength = own;
    for (const candidate of ring) {
      const length = (waiting.get(candidate) as Job[]).length;
      if (length > longestLength) {
        longest = candidate;
        longestLength = length;
      }
    }
    if (longest === undefined) return false;
    const queue = waiting.get(longest) as Job[];
    const victim = queue[queue.length - 1] as Job;
    unqueue(longest, victim);
    victim.refuse(new FairQueueRefusedError('evicted'));
    return true;
  }

  return {
    run<T>(keys: readonly [string, ...string[]], task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      const unique = [...new Set(keys)];
      const flow = keys[0];
      if (signal?.aborted) return Promise.reject(new FairQueueRefusedError('abandoned'));
      const full = unique.find((k) => (admitted.get(k) ?? 0) >= perKey);
      if (full !== undefined) return Promise.reject(new FairQueueRefusedError('key_full', full));
      if (running + waitingCount >= capacity && !evictFor(flow)) {
        return Promise.reject(new FairQueueRefusedError('full'));
      }
      for (const k of unique) count(k, 1);
      let onAbort: (() => void) | undefined;
      const release = () => {
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        for (const k of unique) count(k, -1);
      };
      return new Promise<T>((resolve, reject) => {
        const job: Job = {
          keys: unique,
          refuse: (error) => {
            release();
            reject(error);
          },
          start: () => {
            if (onAbort) signal?.removeEventListener('abort', onAbort);
            onAbort = undefined;
            running++;
            peakRunning = Math.max(peakRunning, running);
            for (const k of unique) held.add(k);
            const done = () => {
              running--;
              for (const k of unique) held.delete(k);
              for (const k of unique) count(k, -1);
              pump();
            };
            let result: Promise<T>;
            try {
              result = task();
            } catch (error) {
              result = Promise.reject(error);
            }
            result.then(
              (value) => {
                done();
                resolve(value);
              },
              (error: unknown) => {
                done();
                reject(error);
              },
            );
          },
        };
        const queue = waiting.get(flow);
        if (queue) queue.push(job);
        else {
          waiting.set(flow, [job]);
          // A new flow joins the ring just before the cursor: it is served after every flow that
          // was already waiting has had its turn once (DRR appends new flows at the tail).
          ring.splice(cursor, 0, flow);
          cursor = (cursor + 1) % ring.length;
        }
        waitingCount++;
        if (signal) {
          onAbort = () => {
            if (unqueue(flow, job)) job.refuse(new FairQueueRefusedError('abandoned'));
          };
          signal.addEventListener('abort', onAbort, { once: true });
        }
        pump();
      });
    },

    stats: () => ({ running, waiting: waitingCount, peakRunning }),
  };
}
