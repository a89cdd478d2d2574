import pg from 'pg';
import { configSchema, type GatehouseConfig } from '../../config/schema.js';
import { BootError, StoreUnavailableError } from '../../errors.js';
import { migrate, type MigrationResult } from './migrations.js';
import { sharedClose } from '../../util/shares.js';

/** The config's `postgres` block: schema, pool size, timeouts (ms), whether to migrate on start. */
export type PostgresOptions = GatehouseConfig['postgres'];

/** The schema defaults, so a caller without a config (tests, the library) gets the documented values. */
export const DEFAULT_POSTGRES_OPTIONS: PostgresOptions = Object.freeze(configSchema.shape.postgres.parse({}));

/** Whether a store URL names PostgreSQL. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** Callbacks for failures that have no caller to throw to. */
export interface PostgresDatabaseOptions extends Partial<PostgresOptions> {
  /** An idle pooled connection failed (the server restarted, the network dropped). The pool replaces it. */
  onError?: (error: unknown) => void;
}

/**
 * One pool over one schema, shared by everything Gatehouse keeps in PostgreSQL. Every failure to
 * reach or use the database rejects with `StoreUnavailableError` (503, fail closed); nothing here
 * throws at construction, so a gateway starts while the database is down and recovers when it
 * comes back (the pool opens new connections on demand).
 */
export interface PostgresDatabase {
  /** The schema, validated; safe to splice into SQL as `"<schema>"`. */
  readonly schema: string;
  /** `"<schema>".<table>`, for SQL text. */
  table(name: string): string;
  /** One statement on any pooled connection, after any pending migration. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * Resolves once the schema is usable: with `migrateOnStart`, the first call applies pending
   * migrations; a failure is reported to that caller and the next call tries again.
   */
  ready(): Promise<void>;
  /** Apply pending migrations now (the `gatehouse migrate` command). */
  migrate(): Promise<MigrationResult>;
  /**
   * A share of the pool for one user (store, coordination). The pool ends when every share taken
   * has been released; releasing twice is harmless.
   */
  retain(): () => Promise<void>;
  /** Ends the pool now, whoever holds a share. Idempotent. */
  close(): Promise<void>;
  /** True once the pool has ended. */
  readonly closed: boolean;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;

/**
 * Epoch milliseconds and counts are `bigint` columns, which pg returns as strings by default (to
 * be safe beyond 2^53). Our values stay far below that, so they are parsed as numbers, for this
 * pool only (the global type parsers are left alone for the host application).
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Opens (lazily: no connection is made here) the pool a `postgres://` URL names. */
export function openPostgresDatabase(url: string, options: PostgresDatabaseOptions = {}): PostgresDatabase {
  const o = { ...DEFAULT_POSTGRES_OPTIONS, ...options };
  // The schema is spliced into SQL. The config schema refuses anything else; this is the last guard.
  if (!SCHEMA_NAME.test(o.schema)) {
    throw new BootError('GH_STORE_OPTIONS_INVALID', `postgres: schema name ${JSON.stringify(o.schema)} must match ${SCHEMA_NAME.source}`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: o.poolSize,
    connectionTimeoutMillis: o.connectTimeout,
    // The server cancels a slow statement and frees its locks; the client-side timer, a little
    // later, covers a server or network that stopped answering altogether.
    statement_timeout: o.queryTimeout,
    query_timeout: o.queryTimeout + 1000,
    // Connections are housekeeping: an idle pool must not keep a CLI process alive.
    allowExitOnIdle: true,
    application_name: 'gatehouse',
    types,
  });
  // Without a listener, an error on an idle client (server restart) is an unhandled 'error' event
  // and kills the process. The pool drops that client and connects anew on the next query.
  pool.on('error', (error) => o.onError?.(error));

  const schema = o.schema;
  let closed = false;
  let migrated = !o.migrateOnStart;
  let migrating: Promise<void> | undefined;

  function unavailable(error: unknown): StoreUnavailableError {
    return error instanceof StoreUnavailableError ? error : new StoreUnavailableError(error);
  }

  async function runMigrations(): Promise<MigrationResult> {
    if (closed) throw new StoreUnavailableError(new Error('postgres pool is closed'));
    try {
      const result = await migrate(pool, schema);
      migrated = true;
      return result;
    } catch (error) {
      throw unavailable(error);
    }
  }

  function ready(): Promise<void> {
    if (migrated) return Promise.resolve();
    // Concurrent first requests share one attempt; a failed attempt is forgotten so the next
    // request retries (the database may have come back).
    migrating ??= runMigrations().then(
      () => undefined,
      (error: unknown) => {
        migrating = undefined;
        throw error;
      },
    );
    return migrating;
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await pool.end();
  }

  return {
    schema,
    table: (name) => `"${schema}".${name}`,
    async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      if (closed) throw new StoreUnavailableError(new Error('postgres pool is closed'));
      await ready();
      try {
        return await pool.query<R>(text, values);
      } catch (error) {
        // Refused connections, timeouts, a server shutting down, missing tables when nobody ran
        // the migrations: the request fails closed with 503 whatever the cause (kept as `cause`).
        throw unavailable(error);
      }
    },
    ready,
    migrate: runMigrations,
    retain: sharedClose(close),
    close,
    get closed() {
      return closed;
    },
  };
}
