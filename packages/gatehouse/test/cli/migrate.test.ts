import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dropSchema, freshSchema, sql, UNREACHABLE_URL } from '../helpers/postgres.js';
import { PASSWORD, run } from '../helpers/process.js';
import { describeWithPostgres, POSTGRES_URL } from '../helpers/services.js';

/** These tests run the built CLI (`npm test` builds first), as an operator would. */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-migrate-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let configs = 0;
function writeConfig(extra: Record<string, unknown>): string {
  const file = join(dir, `gatehouse-${++configs}.json`);
  writeFileSync(file, JSON.stringify({ publicOrigin: 'https://localhost:8443', local: { enabled: true }, ...extra }));
  return file;
}

/** A stack trace line, which an operator should never see for an expected failure. */
const STACK = /^\s+at /m;

describe('gatehouse migrate (no database needed)', () => {
  it('says there is nothing to migrate when no store is a postgres URL, and exits 0', async () => {
    const result = await run(['migrate', '--config', writeConfig({ session: { store: 'sqlite:./data/gatehouse.db' } })]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe('nothing to migrate: neither session.store nor local.store is a postgres:// URL\n');
  });

  it('an unreachable database: a one-line error on stderr naming the URL without its password, exit 1', async () => {
    const url = UNREACHABLE_URL.replace('postgres@', 'postgres:s3cret@');
    const result = await run(['migrate', '--config', writeConfig({ session: { store: url }, postgres: { connectTimeout: '2s' } })]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('gatehouse migrate: cannot migrate postgres://postgres:***@127.0.0.1:1/test: connect ECONNREFUSED 127.0.0.1:1\n');
    expect(result.stderr).not.toMatch(STACK);
  });

  it('is listed in the usage text', async () => {
    const result = await run(['--help']);
    expect(result.stdout).toContain('gatehouse migrate --config FILE');
  });
});

describeWithPostgres('gatehouse migrate (PostgreSQL)', () => {
  let schema: string;
  beforeEach(() => {
    schema = freshSchema();
  });
  afterEach(() => dropSchema(schema));

  it('applies the migrations once, then reports the schema up to date', async () => {
    // The same URL for sessions and accounts: one schema, migrated once.
    const config = writeConfig({ session: { store: POSTGRES_URL }, local: { enabled: true, store: POSTGRES_URL }, postgres: { schema } });
    const first = await run(['migrate', '--config', config]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(`applied 1 migration(s) to schema ${schema}\n`);
    const again = await run(['migrate', '--config', config]);
    expect(again).toMatchObject({ code: 0, stdout: `schema ${schema} is up to date\n`, stderr: '' });
    expect((await sql(`SELECT version FROM "${schema}".gatehouse_migrations`)).rows).toEqual([{ version: 1 }]);
  });

  it('with migrateOnStart false, `users add` fails cleanly until `migrate` ran, then writes to the configured schema', async () => {
    const config = writeConfig({
      session: { store: POSTGRES_URL },
      local: { enabled: true, store: POSTGRES_URL },
      postgres: { schema, migrateOnStart: false },
    });
    const before = await run(['users', 'add', 'alice', '--password-stdin', '--config', config], `${PASSWORD}\n`);
    expect(before.code).not.toBe(0);
    expect(before.stderr).not.toMatch(STACK);

    expect((await run(['migrate', '--config', config])).code).toBe(0);
    const after = await run(['users', 'add', 'alice', '--password-stdin', '--config', config], `${PASSWORD}\n`);
    expect(after.code, after.stderr).toBe(0);
    expect((await sql(`SELECT username FROM "${schema}".accounts`)).rows).toEqual([{ username: 'alice' }]);
  });
});
