import type pg from 'pg';

/**
 * Versioned schema migrations. Each runs once per schema, recorded in
 * `<schema>.gatehouse_migrations`. Never edit a released migration: add the next version.
 *
 * All of them run in one transaction under a transaction-scoped advisory lock keyed by the schema,
 * so N instances starting together migrate once: the first applies, the others wait on the lock
 * and then find nothing to do. A failure rolls everything back (PostgreSQL DDL is transactional).
 */

/** One step of the schema. `up` receives the quoted schema name. */
export interface Migration {
  version: number;
  name: string;
  up: (schema: string) => string;
}

/** What a migration run did. */
export interface MigrationResult {
  schema: string;
  /** The versions applied by this run, in order; empty when the schema was up to date. */
  applied: number[];
}

/*
 * Times are epoch milliseconds (bigint) from the gateway's clock, not the server's `now()`: every
 * expiry decision is made with the same injectable clock whatever the backend. Keys and ids are
 * `COLLATE "C"`: compared and ordered bytewise, like SQLite, whatever the database's locale.
 */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'sessions, accounts, throttle and coordination tables',
    up: (s: string) => `
      CREATE TABLE ${s}.sessions (
        id text COLLATE "C" PRIMARY KEY,
        user_id text COLLATE "C" NOT NULL,
        created_at bigint NOT NULL,
        last_seen_at bigint NOT NULL,
        idle_expires_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        record jsonb NOT NULL
      );
      CREATE INDEX sessions_user_id ON ${s}.sessions (user_id);
      -- The purge selects on exactly this expression, so it walks the index, oldest first.
      CREATE INDEX sessions_expiry ON ${s}.sessions ((least(idle_expires_at, expires_at)));

      CREATE TABLE ${s}.accounts (
        id text COLLATE "C" PRIMARY KEY,
        username text COLLATE "C" NOT NULL UNIQUE,
        name text,
        roles jsonb NOT NULL DEFAULT '[]',
        password_hash text NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        password_changed_at bigint NOT NULL
      );

      CREATE TABLE ${s}.throttle (
        key text COLLATE "C" PRIMARY KEY,
        entry jsonb NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX throttle_expires_at ON ${s}.throttle (expires_at);

      CREATE TABLE ${s}.locks (
        key text COLLATE "C" PRIMARY KEY,
        owner text NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX locks_expires_at ON ${s}.locks (expires_at);

      CREATE TABLE ${s}.once_marks (
        key text COLLATE "C" PRIMARY KEY,
        expires_at bigint NOT NULL
      );
      CREATE INDEX once_marks_expires_at ON ${s}.once_marks (expires_at);

      CREATE TABLE ${s}.kv (
        key text COLLATE "C" PRIMARY KEY,
        value text NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX kv_expires_at ON ${s}.kv (expires_at);
    `,
  },
]);

/**
 * Brings `schema` up to date: creates it and the bookkeeping table if missing, then applies every
 * migration not yet recorded. Idempotent. Safe to run from many processes at once.
 *
 * An up-to-date schema needs no DDL rights: existence is checked before anything is created,
 * because `CREATE … IF NOT EXISTS` checks privileges first and would fail for a runtime user.
 *
 * @param schema a validated identifier (unquoted); see `openPostgresDatabase`.
 * @throws whatever pg throws (callers map it to `StoreUnavailableError`).
 */
export async function migrate(pool: pg.Pool, schema: string, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  const s = `"${schema}"`;
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    // Held until COMMIT/ROLLBACK, so a crashed migrator never leaves it behind.
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('gatehouse.migrate:' || $1, 0))", [schema]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    const table = await client.query('SELECT to_regclass($1) AS oid', [`${s}.gatehouse_migrations`]);
    if (table.rows[0]?.oid === null) {
      await client.query(
        `CREATE TABLE ${s}.gatehouse_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
    }
    const done = new Set(
      (await client.query<{ version: number }>(`SELECT version FROM ${s}.gatehouse_migrations`)).rows.map((r) => r.version),
    );
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await client.query(migration.up(s));
      await client.query(`INSERT INTO ${s}.gatehouse_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return { schema, applied };
  } catch (error) {
    failure = error as Error;
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    // A connection that failed mid-transaction is discarded rather than reused.
    client.release(failure);
  }
}
