import type { SessionStore } from '../session/model.js';
import type { Metrics, StoreOperation } from './metrics.js';

/**
 * The store, with every call timed into `gatehouse_store_operation_duration_seconds`. Returns the
 * store itself when metrics are disabled, so the disabled path has no wrapper at all.
 *
 * `get` and `touch` sit on every request's path: the wrapper adds a clock read at each end and
 * one promise; the histogram children are looked up, never built, per call.
 */
export function instrumentStore(store: SessionStore, metrics: Metrics): SessionStore {
  if (!metrics.enabled) return store;

  /** Settles with the store's answer, once its duration and outcome are recorded. */
  async function timed<T>(operation: StoreOperation, started: number, call: Promise<T>): Promise<T> {
    try {
      const result = await call;
      metrics.storeOperation(operation, true, (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      metrics.storeOperation(operation, false, (performance.now() - started) / 1000);
      throw error;
    }
  }

  const instrumented: SessionStore = {
    get: (id) => timed('get', performance.now(), store.get(id)),
    set: (record) => timed('set', performance.now(), store.set(record)),
    // A conditional write of the whole record: timed as a `set` (no series of its own yet).
    update: (record) => timed('set', performance.now(), store.update(record)),
    touch: (id, lastSeenAt, idleExpiresAt) => timed('touch', performance.now(), store.touch(id, lastSeenAt, idleExpiresAt)),
    delete: (id) => timed('delete', performance.now(), store.delete(id)),
    deleteByUser: (userId, exceptId) => timed('deleteByUser', performance.now(), store.deleteByUser(userId, exceptId)),
    listByUser: (userId) => timed('listByUser', performance.now(), store.listByUser(userId)),
    ping: () => timed('ping', performance.now(), store.ping()),
    // Closing is not an operation worth a latency series.
    close: () => store.close(),
  };
  const { countLive } = store;
  if (countLive) instrumented.countLive = () => timed('countLive', performance.now(), countLive.call(store));
  return instrumented;
}
