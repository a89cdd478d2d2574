import { type Clock, systemClock } from '../../clock.js';
import { StoreUnavailableError } from '../../errors.js';
import { isLive, type SessionRecord, type SessionStore } from '../../session/model.js';
import { deepFreeze } from '../../util/deep-freeze.js';

/** Options for {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Decides expiry. Defaults to the system clock; tests inject a fake one. */
  clock?: Clock;
  /** How often expired records are swept out, in ms. Default 60 000. */
  sweepIntervalMs?: number;
}

/** The memory store, plus the sweep the timer runs (exposed so tests can trigger it). */
export interface MemorySessionStore extends SessionStore {
  /** Drop every expired record now. Returns how many were dropped. */
  sweep(): number;
}

/**
 * A session store in process memory: for development, tests and single-instance deployments
 * that accept losing every session on restart.
 *
 * Records are deep-copied in and frozen, and handed out as they are: a read costs no copy (it is
 * on every request's path), and no caller can change what the store, and every other request, sees.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemorySessionStore {
  const clock = options.clock ?? systemClock;
  const byId = new Map<string, SessionRecord>();
  const byUser = new Map<string, Set<string>>();
  let closed = false;

  function unindex(record: SessionRecord): void {
    const ids = byUser.get(record.userId);
    if (!ids) return;
    ids.delete(record.id);
    if (ids.size === 0) byUser.delete(record.userId);
  }

  function remove(id: string): SessionRecord | undefined {
    const record = byId.get(id);
    if (!record) return undefined;
    byId.delete(id);
    unindex(record);
    return record;
  }

  /** The stored (not copied) live record; an expired one is dropped on the way. */
  function live(id: string, now: number): SessionRecord | undefined {
    const record = byId.get(id);
    if (!record) return undefined;
    if (isLive(record, now)) return record;
    remove(id);
    return undefined;
  }

  // A closed store fails closed like an unreachable backend would, rather than serving stale data.
  function assertOpen(): void {
    if (closed) throw new StoreUnavailableError(new Error('memory session store is closed'));
  }

  function sweep(): number {
    const now = clock();
    let dropped = 0;
    for (const record of [...byId.values()]) {
      if (!isLive(record, now)) {
        remove(record.id);
        dropped++;
      }
    }
    return dropped;
  }

  const timer = setInterval(sweep, options.sweepIntervalMs ?? 60_000);
  // The sweep is housekeeping: it must never keep the process alive on its own.
  timer.unref();

  return {
    async get(id) {
      assertOpen();
      return live(id, clock()) ?? null;
    },

    async set(record) {
      assertOpen();
      const copy = deepFreeze(structuredClone(record));
      // A replacement may move the id to another user: drop the old index entry first.
      remove(copy.id);
      byId.set(copy.id, copy);
      let ids = byUser.get(copy.userId);
      if (!ids) {
        ids = new Set();
        byUser.set(copy.userId, ids);
      }
      ids.add(copy.id);
    },

    async update(record) {
      assertOpen();
      // Check and write in one tick: nothing can delete the session in between.
      const current = live(record.id, clock());
      if (!current || current.userId !== record.userId) return false;
      // Same id, same user: the user index already lists it.
      byId.set(record.id, deepFreeze(structuredClone(record)));
      return true;
    },

    async touch(id, lastSeenAt, idleExpiresAt) {
      assertOpen();
      // An expired session stays dead: touching it must not bring it back.
      const record = live(id, clock());
      if (!record) return;
      byId.set(id, Object.freeze({ ...record, lastSeenAt, idleExpiresAt }));
    },

    async delete(id) {
      assertOpen();
      remove(id);
    },

    async deleteByUser(userId, exceptId) {
      assertOpen();
      const now = clock();
      let deleted = 0;
      for (const id of [...(byUser.get(userId) ?? [])]) {
        if (id === exceptId) continue;
        const record = remove(id);
        // Expired sessions go too, but only live ones count: they are what the user signed out.
        if (record && isLive(record, now)) deleted++;
      }
      return deleted;
    },

    async listByUser(userId) {
      assertOpen();
      const now = clock();
      const records: SessionRecord[] = [];
      for (const id of [...(byUser.get(userId) ?? [])]) {
        const record = live(id, now);
        if (record) records.push(record);
      }
      return records.sort(newestFirst);
    },

    async ping() {
      assertOpen();
    },

    async countLive() {
      assertOpen();
      // One pass over the map at scrape time (every few seconds), never on a request's path.
      const now = clock();
      let live = 0;
      for (const record of byId.values()) if (isLive(record, now)) live++;
      return live;
    },

    async close() {
      closed = true;
      clearInterval(timer);
      byId.clear();
      byUser.clear();
    },

    sweep,
  };
}

/** Newest first by creation time; the id breaks ties so the order is stable. */
function newestFirst(a: SessionRecord, b: SessionRecord): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

