import type { Clock } from '../../clock.js';
import type { GatehouseConfig } from '../../config/schema.js';
import { createMemoryCoordination } from '../coordination/memory.js';
import type { Coordination } from '../coordination/types.js';
import { BootError } from '../../errors.js';
import { openPostgresBackend } from '../postgres/backend.js';
import { isPostgresUrl } from '../postgres/pool.js';
import { openRedisBackend } from '../redis/backend.js';
import { isRedisUrl } from '../../config/redis-url.js';
import { createMemoryRevocations } from '../revocations/memory.js';
import { createMemoryStore } from './memory.js';
import { createSqliteStore } from './sqlite.js';
import type { RevocationList, SessionStore } from '../../session/model.js';

export { createMemoryStore, type MemorySessionStore, type MemoryStoreOptions } from './memory.js';
export { createPostgresStore, type PostgresSessionStore, type PostgresStoreOptions } from './postgres.js';
export { createRedisCoordination, type RedisCoordinationOptions } from '../coordination/redis.js';
export { openRedisBackend, type RedisBackendOptions } from '../redis/backend.js';
export { createRedisStore, type RedisStoreOptions } from './redis.js';
export { createSqliteStore, type SqliteSessionStore, type SqliteStoreOptions } from './sqlite.js';
export { isLive, type SessionRecord, type SessionStore, type SessionUser } from '../../session/model.js';

const SQLITE_PREFIX = 'sqlite:';

/** The session store and the coordination state that goes with it (shared when the store is). */
export interface SessionBackend {
  store: SessionStore;
  coordination: Coordination;
  /**
   * Cookie mode's revoked session ids, kept where the store keeps its data: memory (with an
   * `epoch`), a table in the SQLite file, or coordination values in Redis / PostgreSQL (shared by
   * every instance). Closing it leaves the store and coordination open; closing the store (SQLite)
   * or the coordination (Redis, PostgreSQL) makes it reject with StoreUnavailableError.
   */
  revocations: RevocationList;
}

/** What opening a backend needs besides its URL. */
export interface BackendOptions {
  clock?: Clock;
  redis?: GatehouseConfig['redis'];
  postgres?: GatehouseConfig['postgres'];
  /** Told about backend failures no request sees (a Redis connection lost, reconnects failing). */
  onError?: (error: unknown) => void;
}

/**
 * Open the session store a `session.store` URL names, with its coordination state:
 *
 * - `memory`: in process memory; sessions are lost on restart.
 * - `sqlite:/abs/path.db`: a SQLite file (created with its directory if missing).
 * - `sqlite::memory:`: a private in-memory SQLite database, for tests.
 * - `postgres://…` / `postgresql://…`: PostgreSQL, schema `postgres.schema`; store and coordination
 *   share one pool (migrated on open with `postgres.migrateOnStart`; a database that is down then
 *   does not fail the open, its requests get 503 until it answers).
 * - `redis://…`, `redis-sentinel://h:p,…/<master>`, `redis-cluster://h:p,…`, and their TLS forms
 *   `rediss://…`, `rediss-sentinel://…`, `rediss-cluster://…`: Redis, keys under `redis.keyPrefix`; store and coordination share one connection, made in the
 *   background (requests get 503 until Redis answers, and service resumes when it comes back).
 *
 * Memory and SQLite keep coordination state (throttle, locks) in process: one instance. Their
 * revocation lists: memory in process (gone on restart, hence its `epoch`), SQLite in the store's
 * file (durable, shared by the processes on it).
 * Config validation reports a bad URL earlier, naming the key; this throw is the last guard.
 */
export async function openSessionBackend(url: string, options: BackendOptions = {}): Promise<SessionBackend> {
  if (isPostgresUrl(url)) return openPostgresBackend(url, { clock: options.clock, postgres: options.postgres, onError: options.onError });
  if (isRedisUrl(url)) return openRedisBackend(url, { clock: options.clock, redis: options.redis, onError: options.onError });
  const local = { clock: options.clock };
  if (url === 'memory') {
    return { store: createMemoryStore(local), coordination: createMemoryCoordination(local), revocations: createMemoryRevocations(local) };
  }
  const store = createSqliteStore({ ...local, filename: sqliteFilename(url) });
  return { store, coordination: createMemoryCoordination(local), revocations: store.revocations() };
}

/** The process-local stores (memory, sqlite). */
export function createSessionStore(url: string, options: { clock?: Clock } = {}): SessionStore {
  if (url === 'memory') return createMemoryStore(options);
  return createSqliteStore({ ...options, filename: sqliteFilename(url) });
}

/** The file of a `sqlite:` URL; any other URL is not one of ours. */
function sqliteFilename(url: string): string {
  if (url.startsWith(SQLITE_PREFIX)) {
    const filename = url.slice(SQLITE_PREFIX.length);
    if (filename !== '') return filename;
  }
  throw new BootError(
    'GH_STORE_URL_INVALID',
    `Unsupported session store URL ${JSON.stringify(url)}: use "memory", "sqlite:/absolute/path.db" or "sqlite::memory:".`,
  );
}
