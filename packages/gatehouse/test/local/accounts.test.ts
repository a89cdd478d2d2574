import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createAccountStore } from '../../src/local/accounts.js';
import { PASSWORD, runAccountStoreConformance } from './account-conformance.js';

runAccountStoreConformance('memory', async (clock) => ({
  store: createAccountStore('memory', { clock }),
  cleanup: async () => {},
}));

runAccountStoreConformance('sqlite file', async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-accounts-'));
  // A nested, not-yet-existing directory proves the store creates it.
  const url = `sqlite:${join(dir, 'sub', 'gatehouse.db')}`;
  return {
    store: createAccountStore(url, { clock }),
    reopen: async () => createAccountStore(url, { clock }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('sqlite account store file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-accounts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('persists across reopen, creates the directory and an owner-only file in WAL mode', async () => {
    const file = join(dir, 'nested', 'deeper', 'gatehouse.db');
    const first = createAccountStore(`sqlite:${file}`);
    const added = await first.add({ username: 'alice', password: PASSWORD });
    await first.close();

    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = createAccountStore(`sqlite:${file}`);
    expect(await second.get(added.id)).toEqual(added);
    await second.close();

    const raw = new Database(file);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('shares the file with another table (the session store)', async () => {
    const file = join(dir, 'gatehouse.db');
    const other = new Database(file);
    other.exec('CREATE TABLE gatehouse_sessions (id TEXT PRIMARY KEY)');
    other.prepare('INSERT INTO gatehouse_sessions (id) VALUES (?)').run('s1');
    const store = createAccountStore(`sqlite:${file}`);
    await store.add({ username: 'alice', password: PASSWORD });
    expect(other.prepare('SELECT count(*) AS n FROM gatehouse_accounts').get()).toEqual({ n: 1 });
    expect(other.prepare('SELECT id FROM gatehouse_sessions').all()).toEqual([{ id: 's1' }]);
    other.close();
    await store.close();
  });

  it('resolves a relative path against baseDir', async () => {
    const store = createAccountStore('sqlite:rel/accounts.db', { baseDir: dir });
    await store.add({ username: 'alice', password: PASSWORD });
    await store.close();
    expect(statSync(join(dir, 'rel', 'accounts.db')).isFile()).toBe(true);
  });

  it('refuses an unknown store URL with a ConfigError naming local.store', () => {
    expect(() => createAccountStore('redis://localhost')).toThrow(ConfigError);
    expect(() => createAccountStore('sqlite:')).toThrow(/local\.store/);
  });
});
