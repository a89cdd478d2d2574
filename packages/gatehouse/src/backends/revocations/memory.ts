import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../../clock.js';
import { StoreUnavailableError } from '../../errors.js';
import type { RevocationList } from '../../session/model.js';
import { assertUntil } from './until.js';

/** Options for {@link createMemoryRevocations}. */
export interface MemoryRevocationsOptions {
  /** Decides expiry. Defaults to the system clock; tests inject a fake one. */
  clock?: Clock;
}

/** The memory list, plus how many entries it holds (expired ones not swept yet included). */
export interface MemoryRevocationList extends RevocationList {
  readonly epoch: string;
  readonly size: number;
}

// Entries looked at per insert: the oldest insertions are the likeliest to have expired.
const SWEEP_ON_INSERT = 16;
// Below this many entries a full sweep is not worth doing.
const FULL_SWEEP_MIN = 1_024;

/**
 * Revoked session ids in process memory (`session.store: memory`). It does not outlive the
 * process, so it carries a random `epoch`: cookie-mode sessions name it, and a restart, which
 * forgets every revocation, ends them all.
 *
 * Never evicts a live entry, whatever the count: a revocation dropped to make room would bring
 * its session back. Memory stays bounded by the live revocations instead: an expired entry goes
 * when it is looked up, a few of the oldest go on every insert, and a full sweep runs whenever the
 * list has doubled since the last one (amortized O(1) per insert), so at most about twice the
 * live entries are held.
 */
export function createMemoryRevocations(options: MemoryRevocationsOptions = {}): MemoryRevocationList {
  const clock = options.clock ?? systemClock;
  const until = new Map<string, number>();
  let fullSweepAt = FULL_SWEEP_MIN;
  let closed = false;

  // A closed list fails closed like an unreachable backend, rather than forgetting revocations.
  function assertOpen(): void {
    if (closed) throw new StoreUnavailableError(new Error('memory revocation list is closed'));
  }

  function sweep(now: number, limit: number): void {
    let looked = 0;
    for (const [id, expiry] of until) {
      if (++looked > limit) break;
      if (expiry <= now) until.delete(id);
    }
  }

  return {
    epoch: randomUUID(),

    get size() {
      return until.size;
    },

    async revoke(id, expiry) {
      assertOpen();
      assertUntil(expiry);
      const now = clock();
      // Already over: the cookie it guards has expired too, so there is nothing to keep.
      if (expiry <= now) return;
      const known = until.get(id);
      // Keep the later expiry: a second revoke must never shorten the first.
      if (known !== undefined && known > now && known >= expiry) return;
      until.delete(id);
      until.set(id, expiry);
      sweep(now, SWEEP_ON_INSERT);
      if (until.size >= fullSweepAt) {
        sweep(now, Number.POSITIVE_INFINITY);
        fullSweepAt = Math.max(FULL_SWEEP_MIN, 2 * until.size);
      }
    },

    async isRevoked(id) {
      assertOpen();
      const expiry = until.get(id);
      if (expiry === undefined) return false;
      if (expiry > clock()) return true;
      until.delete(id);
      return false;
    },

    async close() {
      closed = true;
      until.clear();
    },
  };
}
