import type { Clock } from '../../clock.js';
import { createPostgresCoordination } from '../coordination/postgres.js';
import type { Coordination } from '../coordination/types.js';
import { BootError } from '../../errors.js';
import { createCoordinationRevocations } from '../revocations/coordination.js';
import { createPostgresStore } from '../stores/postgres.js';
import type { RevocationList, SessionStore } from '../../session/model.js';
import { openPostgresDatabase, type PostgresOptions } from './pool.js';

/** Options for {@link openPostgresBackend}. */
export interface PostgresBackendOptions {
  clock?: Clock | undefined;
  /** The config's `postgres` block. Default: the schema's defaults. */
  postgres?: PostgresOptions | undefined;
  /** Told about failures no caller sees: an idle connection dropped, a background purge failed. */
  onError?: (error: unknown) => void;
}

/**
 * The session store and coordination over one pool (`session.store` is a `postgres://` URL), and
 * the cookie-mode revocation list as coordination values. The pool ends when the store and the
 * coordination have been closed.
 *
 * With `migrateOnStart`, the schema is migrated before this resolves. A database that is down at
 * start-up does not stop the gateway (it is reported to `onError` as `GH_STORE_UNREACHABLE`): requests get 503 `store_unavailable` (and `/readyz` fails)
 * until it answers, and the migration is retried on the next use.
 */
export async function openPostgresBackend(
  url: string,
  options: PostgresBackendOptions = {},
): Promise<{ store: SessionStore; coordination: Coordination; revocations: RevocationList }> {
  const db = openPostgresDatabase(url, { ...options.postgres, onError: options.onError });
  // A failure is remembered by the pool (not migrated yet) and surfaces on use; see above. It is
  // reported, with the cause of the StoreUnavailableError (refused, authentication, permission).
  await db.ready().catch((error: unknown) => {
    const cause = (error as { cause?: unknown }).cause ?? error;
    const message = `postgres did not answer at start-up (${(cause as Error).message || String(cause)}): starting anyway; requests get 503 store_unavailable until it answers`;
    options.onError?.(new BootError('GH_STORE_UNREACHABLE', message, { cause: error }));
  });
  const common = { db, clock: options.clock, onPurgeError: options.onError };
  const coordination = createPostgresCoordination(common);
  return { store: createPostgresStore(common), coordination, revocations: createCoordinationRevocations({ coordination, clock: options.clock }) };
}
