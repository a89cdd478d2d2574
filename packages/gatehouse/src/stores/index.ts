import type { Clock } from '../clock.js';
import type { GatehouseConfig } from '../config/schema.js';
import { createMemoryCoordination } from '../coordination/memory.js';
import type { Coordination } from '../coordination/types.js';
import { createMemoryStore } from './memory.js';
import { createSqliteStore } from './sqlite.js';
import type { SessionStore } from './types.js';

export { createMemoryStore, type MemorySessionStore, type MemoryStoreOptions } from './memory.js';
export { createSqliteStore, type SqliteSessionStore, type SqliteStoreOptions } from './sqlite.js';
export { isLive, type SessionRecord, type SessionStore, type SessionUser } from './types.js';

const SQLITE_PREFIX = 'sqlite:';

/** The session store and the coordination state that goes with it (shared when the store is). */
export interface SessionBackend {
  store: SessionStore;
  coordination: Coordination;
}

/** What opening a backend needs besides its URL. */
export interface BackendOptions {
  clock?: Clock;
  redis?: GatehouseConfig['redis'];
  postgres?: GatehouseConfig['postgres'];
}

/**
 * Open the session store a `session.store` URL names, with its coordination state:
 *
 * - `memory`: in process memory; sessions are lost on restart.
 * - `sqlite:/abs/path.db`: a SQLite file (created with its directory if missing).
 * - `sqlite::memory:`: a private in-memory SQLite database, for tests.
 *
 * Memory and SQLite keep coordination state (throttle, locks) in process: one instance.
 * Config validation reports a bad URL earlier, naming the key; this throw is the last guard.
 */
export async function openSessionBackend(url: string, options: BackendOptions = {}): Promise<SessionBackend> {
  return { store: createSessionStore(url, options), coordination: createMemoryCoordination({ clock: options.clock }) };
}

/** The process-local stores (memory, sqlite). */
export function createSessionStore(url: string, options: { clock?: Clock } = {}): SessionStore {
  if (url === 'memory') return createMemoryStore(options);
  if (url.startsWith(SQLITE_PREFIX)) {
    const filename = url.slice(SQLITE_PREFIX.length);
    if (filename !== '') return createSqliteStore({ ...options, filename });
  }
  throw new Error(
    `Unsupported session store URL ${JSON.stringify(url)}: use "memory", "sqlite:/absolute/path.db" or "sqlite::memory:".`,
  );
}
