import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, GatehouseError } from '../../src/errors.js';
import { AccountError, type AccountStore, createAccountStore } from '../../src/local/accounts.js';
import { verifyPassword } from '../../src/local/passwords.js';
import { type FakeClock, fakeClock } from './fake-clock.js';

const PASSWORD = 'correct horse battery staple';

/** One contract, every backend: `memory` and a real SQLite file. */
const backends: { name: string; open: (clock: FakeClock, dir: string) => AccountStore }[] = [
  { name: 'memory', open: (clock) => createAccountStore('memory', { clock }) },
  { name: 'sqlite file', open: (clock, dir) => createAccountStore(`sqlite:${join(dir, 'sub', 'gatehouse.db')}`, { clock }) },
];

for (const backend of backends) {
  describe(`account store: ${backend.name}`, () => {
    let dir: string;
    let clock: FakeClock;
    let store: AccountStore;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-accounts-'));
      clock = fakeClock();
      store = backend.open(clock, dir);
    });
    afterEach(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('adds an account and finds it with a verifiable hash', async () => {
      const added = await store.add({ username: 'alice', password: PASSWORD, roles: ['admin', 'dev'], name: 'Alice A.' });
      expect(added).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        username: 'alice',
        name: 'Alice A.',
        roles: ['admin', 'dev'],
        createdAt: clock.now,
        updatedAt: clock.now,
        passwordChangedAt: clock.now,
      });
      expect(added).not.toHaveProperty('passwordHash');

      const found = await store.findByUsername('alice');
      expect(found).toMatchObject(added);
      expect(found?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(await verifyPassword(found?.passwordHash ?? '', PASSWORD)).toBe(true);
      expect(await store.get(added.id)).toEqual(added);
      expect(await store.get('no-such-id')).toBeNull();
    });

    it('normalizes usernames: trimmed, NFKC, lower case', async () => {
      await store.add({ username: '  Alice ', password: PASSWORD });
      expect((await store.findByUsername('alice'))?.username).toBe('alice');
      expect((await store.findByUsername('ALICE'))?.username).toBe('alice');
      expect((await store.findByUsername('ＡＬＩＣＥ'))?.username).toBe('alice'); // full-width
      expect(await store.findByUsername('alicia')).toBeNull();
    });

    it('refuses a duplicate username, in any spelling', async () => {
      await store.add({ username: 'alice', password: PASSWORD });
      const error = await store.add({ username: ' ALICE', password: 'another password' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AccountError);
      expect(error).toMatchObject({ code: 'account_exists' });
      expect(await store.list()).toHaveLength(1);
    });

    it('refuses invalid usernames', async () => {
      for (const username of ['', '   ', 'a'.repeat(129), 'bad\u0000name', 'tab\tname', 'zero\u200bwidth', 'rtl\u202eoverride']) {
        await expect(store.add({ username, password: PASSWORD })).rejects.toMatchObject({ code: 'invalid_username' });
      }
      await expect(store.add({ username: 'a'.repeat(128), password: PASSWORD })).resolves.toMatchObject({
        username: 'a'.repeat(128),
      });
      expect(await store.findByUsername('bad\u0000name')).toBeNull();
    });

    it('refuses weak passwords, bad roles and bad names, and a too-long password with payload_too_large', async () => {
      await expect(store.add({ username: 'bob', password: 'short' })).rejects.toMatchObject({ code: 'weak_password' });
      await expect(store.add({ username: 'bob', password: 'bob' })).rejects.toMatchObject({ code: 'weak_password' });
      await expect(store.add({ username: 'robert12', password: 'Robert12' })).rejects.toMatchObject({ code: 'weak_password' });
      await expect(store.add({ username: 'bob', password: PASSWORD, roles: ['ok', 'not ok'] })).rejects.toMatchObject({
        code: 'invalid_role',
      });
      await expect(store.add({ username: 'bob', password: PASSWORD, name: 'evil\u001b[2J' })).rejects.toMatchObject({
        code: 'invalid_name',
      });
      const tooLong = await store.add({ username: 'bob', password: 'p'.repeat(1025) }).catch((e: unknown) => e);
      expect(tooLong).toBeInstanceOf(GatehouseError);
      expect(tooLong).toMatchObject({ code: 'payload_too_large' });
      expect(await store.list()).toEqual([]);
    });

    it('lists accounts by username, without hashes', async () => {
      await store.add({ username: 'carol', password: PASSWORD });
      await store.add({ username: 'alice', password: PASSWORD, roles: ['admin', 'admin'] });
      const list = await store.list();
      expect(list.map((a) => a.username)).toEqual(['alice', 'carol']);
      expect(list[0]?.roles).toEqual(['admin']);
      for (const account of list) {
        expect(account).not.toHaveProperty('passwordHash');
        expect(JSON.stringify(account)).not.toContain('argon2');
      }
    });

    it('changes a password: the old one fails, the new one verifies, passwordChangedAt moves', async () => {
      const added = await store.add({ username: 'alice', password: PASSWORD });
      clock.advance(60_000);
      const changed = await store.setPassword('Alice', 'a brand new passphrase');
      expect(changed).toMatchObject({ id: added.id, createdAt: added.createdAt, passwordChangedAt: clock.now, updatedAt: clock.now });
      const hash = (await store.findByUsername('alice'))?.passwordHash ?? '';
      expect(await verifyPassword(hash, PASSWORD)).toBe(false);
      expect(await verifyPassword(hash, 'a brand new passphrase')).toBe(true);

      await expect(store.setPassword('alice', 'weak')).rejects.toMatchObject({ code: 'weak_password' });
      await expect(store.setPassword('nobody', 'a brand new passphrase')).rejects.toMatchObject({ code: 'account_not_found' });
    });

    it('sets roles', async () => {
      await store.add({ username: 'alice', password: PASSWORD, roles: ['dev'] });
      clock.advance(1000);
      const updated = await store.setRoles('ALICE', ['admin', 'ops:read']);
      expect(updated).toMatchObject({ roles: ['admin', 'ops:read'], updatedAt: clock.now });
      expect((await store.findByUsername('alice'))?.roles).toEqual(['admin', 'ops:read']);
      await expect(store.setRoles('alice', [''])).rejects.toMatchObject({ code: 'invalid_role' });
      await expect(store.setRoles('nobody', ['admin'])).rejects.toMatchObject({ code: 'account_not_found' });
    });

    it('removes an account', async () => {
      const added = await store.add({ username: 'alice', password: PASSWORD });
      expect(await store.remove(' Alice')).toBe(true);
      expect(await store.remove('alice')).toBe(false);
      expect(await store.findByUsername('alice')).toBeNull();
      expect(await store.get(added.id)).toBeNull();
    });
  });
}

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

  it('fails closed with store_unavailable once the database is gone', async () => {
    const store = createAccountStore('memory');
    await store.close();
    await expect(store.findByUsername('alice')).rejects.toMatchObject({ code: 'store_unavailable' });
  });
});
