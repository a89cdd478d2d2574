import { afterEach, beforeEach, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { createAccountStore, createPostgresAccountStore } from '../../src/local/accounts.js';
import { openPostgresDatabase } from '../../src/backends/postgres/pool.js';
import { dropSchema, freshSchema, postgresOptions, sql, UNREACHABLE_URL } from '../helpers/postgres.js';
import { describeWithPostgres, POSTGRES_URL } from '../helpers/services.js';
import { PASSWORD, runAccountStoreConformance } from './account-conformance.js';

describeWithPostgres('postgres account store', () => {
  runAccountStoreConformance('postgres', async (clock) => {
    const schema = freshSchema();
    const open = () => createAccountStore(POSTGRES_URL, { clock, postgres: postgresOptions(schema) });
    return { store: open(), reopen: async () => open(), cleanup: () => dropSchema(schema) };
  });

  let schema: string;
  beforeEach(() => {
    schema = freshSchema();
  });
  afterEach(() => dropSchema(schema));

  it('accepts postgresql:// too, and keeps rows in <schema>.accounts with the SQLite store’s columns', async () => {
    const store = createAccountStore(POSTGRES_URL.replace(/^postgres:/, 'postgresql:'), { postgres: postgresOptions(schema) });
    try {
      const added = await store.add({ username: ' Alice ', password: PASSWORD, roles: ['dev'], name: 'Alice' });
      const { rows } = await sql(`SELECT * FROM "${schema}".accounts`);
      expect(rows).toEqual([
        {
          id: added.id,
          username: 'alice',
          name: 'Alice',
          roles: ['dev'],
          password_hash: expect.stringMatching(/^\$argon2id\$/),
          created_at: String(added.createdAt),
          updated_at: String(added.updatedAt),
          password_changed_at: String(added.passwordChangedAt),
        },
      ]);
    } finally {
      await store.close();
    }
  });

  it('lists by username bytewise whatever the database locale (as SQLite does)', async () => {
    const store = createAccountStore(POSTGRES_URL, { postgres: postgresOptions(schema) });
    try {
      // A locale collation (en_US) ignores punctuation and would put "_b" next to "b"; SQLite's
      // BINARY, and this store, compare bytewise.
      for (const username of ['b', '_b', 'a-2', 'a', 'é']) await store.add({ username, password: PASSWORD });
      expect((await store.list()).map((a) => a.username)).toEqual(['_b', 'a', 'a-2', 'b', 'é']);
      // This machine's database may itself be C-collated: the column's own collation is what
      // guarantees the order everywhere.
      const { rows } = await sql(
        `SELECT collation_name FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = 'accounts' AND column_name = 'username'`,
        [schema],
      );
      expect(rows).toEqual([{ collation_name: 'C' }]);
    } finally {
      await store.close();
    }
  });

  it('with migrateOnStart false: store_unavailable until the schema is migrated, then works', async () => {
    const store = createAccountStore(POSTGRES_URL, { postgres: postgresOptions(schema, { migrateOnStart: false }) });
    const db = openPostgresDatabase(POSTGRES_URL, postgresOptions(schema));
    try {
      const error = await store.findByUsername('alice').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      // The table is missing (42P01), or the schema is (3F000): either way it is kept as the cause.
      expect((error as StoreUnavailableError).cause).toMatchObject({ code: expect.stringMatching(/^(42P01|3F000)$/) });
      expect(await db.migrate()).toEqual({ schema, applied: [1] });
      await store.add({ username: 'alice', password: PASSWORD });
      expect((await store.findByUsername('alice'))?.username).toBe('alice');
    } finally {
      await store.close();
      await db.close();
    }
  });

  it('an unreachable database: opening never throws, every operation rejects with store_unavailable', async () => {
    const store = createAccountStore(UNREACHABLE_URL, { postgres: postgresOptions(schema) });
    try {
      for (const op of [() => store.findByUsername('alice'), () => store.list(), () => store.add({ username: 'bob', password: PASSWORD })]) {
        const error = await op().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(error).toMatchObject({ code: 'store_unavailable', status: 503 });
      }
    } finally {
      await store.close();
    }
  });

  it('shares a pool with other users of the schema and leaves it open for them when closed', async () => {
    const db = openPostgresDatabase(POSTGRES_URL, postgresOptions(schema));
    const release = db.retain();
    const store = createPostgresAccountStore({ db });
    await store.add({ username: 'alice', password: PASSWORD });
    await store.close();
    expect(db.closed).toBe(false);
    expect((await db.query(`SELECT username FROM ${db.table('accounts')}`)).rows).toEqual([{ username: 'alice' }]);
    await release();
    expect(db.closed).toBe(true);
  });
});
