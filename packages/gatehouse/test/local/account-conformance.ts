/**
 * The one account store contract every backend runs (memory, a SQLite file, PostgreSQL), like the
 * session store conformance suite. A backend's test file only supplies a factory.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../src/errors.js';
import { AccountError, type AccountStore } from '../../src/local/accounts.js';
import { verifyPassword } from '../../src/local/passwords.js';
import { type FakeClock, fakeClock } from './fake-clock.js';

export const PASSWORD = 'correct horse battery staple';

/** What a backend hands the suite for one test. */
export interface AccountStoreUnderTest {
  store: AccountStore;
  /** Open another store over the same data (a restart, or a second instance). Persistent backends only. */
  reopen?: () => Promise<AccountStore>;
  /** Release everything (files, schemas). Runs after each test, after the store is closed. */
  cleanup: () => Promise<void>;
}

/** Run the account store contract against one backend. */
export function runAccountStoreConformance(name: string, factory: (clock: FakeClock) => Promise<AccountStoreUnderTest>): void {
  describe(`account store: ${name}`, () => {
    let clock: FakeClock;
    let sut: AccountStoreUnderTest;
    let store: AccountStore;

    beforeEach(async () => {
      clock = fakeClock();
      sut = await factory(clock);
      store = sut.store;
    });
    afterEach(async () => {
      await sut.store.close();
      await sut.cleanup();
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
    it('settles concurrent adds of one username: exactly one wins, the others get account_exists', async () => {
      const results = await Promise.allSettled(
        ['alice', 'Alice', ' ALICE '].map((username) => store.add({ username, password: PASSWORD })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results.filter((r) => r.status === 'rejected')) {
        expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'AccountError', code: 'account_exists' });
      }
      expect(await store.list()).toHaveLength(1);
    });

    it('answers "not found" for lookups no account can match (NUL, over-long)', async () => {
      await store.add({ username: 'alice', password: PASSWORD });
      expect(await store.get('x\u0000y')).toBeNull();
      expect(await store.findByUsername('ali\u0000ce')).toBeNull();
      expect(await store.findByUsername('a'.repeat(129))).toBeNull();
      expect(await store.remove('ali\u0000ce')).toBe(false);
      expect(await store.list()).toHaveLength(1);
    });

    it('keeps accounts across a restart (persistent backends only)', async (ctx) => {
      if (!sut.reopen) {
        ctx.skip();
        return;
      }
      const added = await store.add({ username: 'alice', password: PASSWORD, roles: ['dev'], name: 'Alice' });
      clock.advance(1000);
      const changed = await store.setRoles('alice', ['admin']);
      await store.close();
      const again = await sut.reopen();
      try {
        expect(await again.get(added.id)).toEqual(changed);
        expect(await verifyPassword((await again.findByUsername('ALICE'))?.passwordHash ?? '', PASSWORD)).toBe(true);
      } finally {
        await again.close();
      }
    });

    it('fails closed after close(): operations reject with store_unavailable', async () => {
      await store.add({ username: 'alice', password: PASSWORD });
      await store.close();
      await store.close(); // idempotent
      for (const op of [
        () => store.findByUsername('alice'),
        () => store.get('some-id'),
        () => store.list(),
        () => store.remove('alice'),
        () => store.setRoles('alice', ['admin']),
        () => store.setPassword('alice', 'a brand new passphrase'),
        () => store.add({ username: 'bob', password: PASSWORD }),
      ]) {
        await expect(op()).rejects.toMatchObject({ name: 'StoreUnavailableError', code: 'store_unavailable', status: 503 });
      }
    });
  });
}
