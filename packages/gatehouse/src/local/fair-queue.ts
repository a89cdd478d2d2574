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
 * - When the capacity is full, a job is admitted by refusing the newest waiting job of the longest
 *   flow (`evicted`) only if that flow is longer than the newcomer's would be once admitted: a
 *   newcomer is let in ahead of a flooder's backlog, but never by evicting a client that waits
 *   with as few jobs as it would have itself. Otherwise (its flow would become as long as the
 *   longest, e.g. when every flow waits with one job) the newcomer is refused (`full`): evicting
 *   then only swaps one waiting client for another, churning every place without serving anyone
 *   sooner, and lets a flood of one-job clients push out everyone who got in first.
 * - An optional *reserved lane* holds a share of the capacity (`reserved.capacity` places) and
 *   of the concurrency (`reserved.concurrency` runners) that the shared lane can never take, and
 *   its jobs are started first. It is for clients the caller has already authenticated by other
 *   means (a sign-in from a trusted device, OWASP "Slow Down Online Guessing Attacks with Device
 *   Cookies"): however the shared lane is flooded, they find a place and a runner. Its own flows
 *   are served round robin the same way; a full reserved lane refuses (`full`), never evicts.
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
  /**
   * The part of `capacity` and `concurrency` kept for the reserved lane: shared-lane jobs never
   * hold more than `capacity - reserved.capacity` places nor run more than
   * `concurrency - reserved.concurrency` at once. Reserved-lane jobs may also use free shared
   * places and runners. Default: nothing reserved.
   */
  reserved?: { capacity: number; concurrency: number };
}

/** `shared`: everyone, fair per flow. `reserved`: the reserved share, served first. */
export type FairQueueLane = 'shared' | 'reserved';

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
   * @param lane `reserved` for the reserved share (see {@link FairQueueOptions.reserved}); default `shared`.
   * @throws FairQueueRefusedError when refused at once (`key_full`, `full`, or `abandoned` for a
   *   signal already aborted) or later (`evicted`, `abandoned`).
   */
  run<T>(keys: readonly [string, ...string[]], task: () => Promise<T>, signal?: AbortSignal, lane?: FairQueueLane): Promise<T>;
  stats(): FairQueueStats;
}

interface Job {
  keys: readonly string[];
  start: () => void;
  refuse: (error: FairQueueRefusedError) => void;
}

/** One lane's waiting flows. A flow is in `ring` exactly while it has waiting jobs. */
interface Lane {
  /** Waiting jobs per flow, oldest first. */
  waiting: Map<string, Job[]>;
  /** Round-robin order of the flows with waiting jobs; `cursor` is where the next turn starts. */
  ring: string[];
  cursor: number;
  waitingCount: number;
  running: number;
}

const newLane = (): Lane => ({ waiting: new Map(), ring: [], cursor: 0, waitingCount: 0, running: 0 });

function positive(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
}

function notNegative(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
}

export function createFairQueue(options: FairQueueOptions): FairQueue {
  const { concurrency, capacity, perKey } = options;
  positive('concurrency', concurrency);
  positive('capacity', capacity);
  positive('perKey', perKey);
  if (capacity < concurrency) throw new RangeError('capacity must be at least concurrency');
  const reserved = options.reserved ?? { capacity: 0, concurrency: 0 };
  notNegative('reserved.capacity', reserved.capacity);
  notNegative('reserved.concurrency', reserved.concurrency);
  // The shared lane keeps at least one place and one runner: reserving everything would refuse everyone else.
  if (reserved.capacity >= capacity) throw new RangeError('reserved.capacity must be below capacity');
  if (reserved.concurrency >= concurrency) throw new RangeError('reserved.concurrency must be below concurrency');
  const sharedCapacity = capacity - reserved.capacity;
  const sharedConcurrency = concurrency - reserved.concurrency;

  const lanes: Record<FairQueueLane, Lane> = { shared: newLane(), reserved: newLane() };
  /** Admitted jobs (waiting or running) per key, for `perKey`. */
  const admitted = new Map<string, number>();
  /** Keys held by running jobs. */
  const held = new Set<string>();
  let peakRunning = 0;
  const running = () => lanes.shared.running + lanes.reserved.running;
  const waitingCount = () => lanes.shared.waitingCount + lanes.reserved.waitingCount;

  const count = (key: string, delta: number) => {
    const n = (admitted.get(key) ?? 0) + delta;
    if (n === 0) admitted.delete(key);
    else admitted.set(key, n);
  };

  /** Takes a waiting job out of its flow (evicted or abandoned); false when it is no longer waiting. */
  function unqueue(lane: Lane, flow: string, job: Job): boolean {
    const queue = lane.waiting.get(flow);
    const at = queue?.indexOf(job) ?? -1;
    if (!queue || at === -1) return false;
    queue.splice(at, 1);
    lane.waitingCount--;
    if (queue.length === 0) {
      lane.waiting.delete(flow);
      removeFromRing(lane, flow);
    }
    return true;
  }

  function removeFromRing(lane: Lane, flow: string): void {
    const at = lane.ring.indexOf(flow);
    lane.ring.splice(at, 1);
    if (at < lane.cursor) lane.cursor--;
    if (lane.cursor >= lane.ring.length) lane.cursor = 0;
  }

  /** Takes the lane's next runnable job, round robin over its flows; null when none can run now. */
  function next(lane: Lane): Job | null {
    const { ring, waiting } = lane;
    for (let looked = 0; looked < ring.length; looked++) {
      const at = (lane.cursor + looked) % ring.length;
      const flow = ring[at] as string;
      const queue = waiting.get(flow) as Job[];
      const head = queue[0] as Job;
      if (head.keys.some((k) => held.has(k))) continue;
      queue.shift();
      lane.waitingCount--;
      if (queue.length === 0) {
        waiting.delete(flow);
        ring.splice(at, 1);
        lane.cursor = ring.length === 0 ? 0 : at % ring.length;
      } else {
        lane.cursor = (at + 1) % ring.length;
      }
      return head;
    }
    return null;
  }

  function pump(): void {
    while (running() < concurrency) {
      // The reserved lane first; the shared lane only up to its share of the runners.
      const job = next(lanes.reserved) ?? (lanes.shared.running < sharedConcurrency ? next(lanes.shared) : null);
      if (!job) return;
      job.start();
    }
  }

  /**
   * Frees a shared place for a job of `flow` by evicting the longest shared flow's newest job.
   * False (nothing evicted) unless that flow is longer than `flow` would be with the new job: the
   * tie-break of the module comment, so a one-job client is never evicted for another one-job client.
   */
  function evictFor(flow: string): boolean {
    const { waiting, ring } = lanes.shared;
    const ownAfter = (waiting.get(flow)?.length ?? 0) + 1;
    let longest: string | undefined;
    let longestLength = ownAfter;
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
    unqueue(lanes.shared, longest, victim);
    victim.refuse(new FairQueueRefusedError('evicted'));
    return true;
  }

  /** Whether a job may take a place in `lane` now, evicting from the shared lane if it must. */
  function admit(lane: FairQueueLane, flow: string): boolean {
    const total = running() + waitingCount();
    if (lane === 'reserved') return total < capacity;
    const shared = lanes.shared.running + lanes.shared.waitingCount;
    return (shared < sharedCapacity && total < capacity) || evictFor(flow);
  }

  return {
    run<T>(keys: readonly [string, ...string[]], task: () => Promise<T>, signal?: AbortSignal, laneName: FairQueueLane = 'shared'): Promise<T> {
      const unique = [...new Set(keys)];
      const flow = keys[0];
      const lane = lanes[laneName];
      if (signal?.aborted) return Promise.reject(new FairQueueRefusedError('abandoned'));
      const full = unique.find((k) => (admitted.get(k) ?? 0) >= perKey);
      if (full !== undefined) return Promise.reject(new FairQueueRefusedError('key_full', full));
      if (!admit(laneName, flow)) return Promise.reject(new FairQueueRefusedError('full'));
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
            lane.running++;
            peakRunning = Math.max(peakRunning, running());
            for (const k of unique) held.add(k);
            const done = () => {
              lane.running--;
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
        const queue = lane.waiting.get(flow);
        if (queue) queue.push(job);
        else {
          lane.waiting.set(flow, [job]);
          // A new flow joins the ring just before the cursor: it is served after every flow that
          // was already waiting has had its turn once (DRR appends new flows at the tail).
          lane.ring.splice(lane.cursor, 0, flow);
          lane.cursor = (lane.cursor + 1) % lane.ring.length;
        }
        lane.waitingCount++;
        if (signal) {
          onAbort = () => {
            if (unqueue(lane, flow, job)) job.refuse(new FairQueueRefusedError('abandoned'));
          };
          signal.addEventListener('abort', onAbort, { once: true });
        }
        pump();
      });
    },

    stats: () => ({ running: running(), waiting: waitingCount(), peakRunning }),
  };
}
