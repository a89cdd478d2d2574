import type { SessionRecord } from '../../session/model.js';
import type { ConformanceSuite } from './api.js';
import { HOUR, makeRecord, MINUTE, T0 } from './fixtures.js';

/** `set` and `update`: an update writes back only a session that is still there, live and owned by the same user. */
export function updateCases(suite: ConformanceSuite): void {
  const { expect, it } = suite;

  it('set replaces the whole record, including a move to another user', async () => {
    const first = makeRecord({ userId: 'user-1' });
    await suite.store.set(first);
    const second = makeRecord({ id: first.id, userId: 'user-2', provider: 'github', data: { v: 2 } });
    await suite.store.set(second);
    expect(await suite.store.get(first.id)).toStrictEqual(second);
    expect(await suite.store.listByUser('user-1')).toStrictEqual([]);
    expect(await suite.store.listByUser('user-2')).toStrictEqual([second]);
  });

  it('update replaces the record of a live session: true, and every new field reads back', async () => {
    const record = makeRecord({ userId: 'u1' });
    const other = makeRecord({ userId: 'u1', createdAt: T0 - MINUTE });
    await suite.store.set(record);
    await suite.store.set(other);
    suite.now = T0 + 10 * MINUTE;
    const next: SessionRecord = {
      ...record,
      user: { ...record.user, name: 'Ada King', roles: ['dev'] },
      provider: 'github',
      lastSeenAt: suite.now,
      idleExpiresAt: suite.now + 30 * MINUTE,
      client: { ip: '198.51.100.9' },
      data: { tokens: { access: 'enc:new', expiresAt: suite.now + HOUR }, flags: [] },
    };
    expect(await suite.store.update(next)).toBe(true);
    expect(await suite.store.get(record.id)).toStrictEqual(next);
    expect(await suite.store.listByUser('u1')).toStrictEqual([next, other]);
    // Past the old idle expiry, before the new one: the new expiry is the one that counts.
    suite.now = T0 + 35 * MINUTE;
    expect(await suite.store.get(record.id)).toStrictEqual(next);
    // A second update, dropping the optional data.
    const bare = { ...next, lastSeenAt: suite.now };
    delete bare.data;
    expect(await suite.store.update(bare)).toBe(true);
    expect(await suite.store.get(record.id)).toStrictEqual(bare);
  });

  it('update of a deleted session is false and brings nothing back (no record, no listing)', async () => {
    const record = makeRecord({ userId: 'u1' });
    await suite.store.set(record);
    await suite.store.delete(record.id);
    expect(await suite.store.update({ ...record, data: { refreshed: true } })).toBe(false);
    expect(await suite.store.get(record.id)).toBeNull();
    expect(await suite.store.listByUser('u1')).toStrictEqual([]);
    expect(await suite.store.deleteByUser('u1')).toBe(0);
    // Nor does an id that never existed.
    expect(await suite.store.update(makeRecord({ id: 'never-was', userId: 'u1' }))).toBe(false);
    expect(await suite.store.get('never-was')).toBeNull();
    expect(await suite.store.listByUser('u1')).toStrictEqual([]);
  });

  it('update after deleteByUser ("sign out everywhere") is false and brings nothing back', async () => {
    const a = makeRecord({ userId: 'u1' });
    const b = makeRecord({ userId: 'u1' });
    await suite.store.set(a);
    await suite.store.set(b);
    expect(await suite.store.deleteByUser('u1')).toBe(2);
    expect(await suite.store.update({ ...a, lastSeenAt: T0 + MINUTE })).toBe(false);
    expect(await suite.store.update(b)).toBe(false);
    expect(await suite.store.get(a.id)).toBeNull();
    expect(await suite.store.get(b.id)).toBeNull();
    expect(await suite.store.listByUser('u1')).toStrictEqual([]);
  });

  it('update naming another user is false and leaves the record, and both users’ listings, unchanged', async () => {
    const record = makeRecord({ userId: 'u1' });
    await suite.store.set(record);
    const hijack = { ...record, userId: 'u2', user: { id: 'u2', roles: ['admin'] } };
    expect(await suite.store.update(hijack)).toBe(false);
    expect(await suite.store.get(record.id)).toStrictEqual(record);
    expect(await suite.store.listByUser('u1')).toStrictEqual([record]);
    expect(await suite.store.listByUser('u2')).toStrictEqual([]);
  });

  it('update of an expired session is false, whether idle or absolute expiry came first, and does not revive it', async () => {
    const idle = makeRecord({ userId: 'u1' });
    const absolute = makeRecord({ userId: 'u1', idleExpiresAt: T0 + 2 * HOUR, expiresAt: T0 + HOUR });
    await suite.store.set(idle);
    await suite.store.set(absolute);
    suite.now = idle.idleExpiresAt;
    // A write-back that would slide the idle expiry again must not bring it back.
    expect(await suite.store.update({ ...idle, lastSeenAt: suite.now, idleExpiresAt: suite.now + 30 * MINUTE })).toBe(false);
    expect(await suite.store.get(idle.id)).toBeNull();
    suite.now = absolute.expiresAt;
    expect(await suite.store.update({ ...absolute, expiresAt: suite.now + HOUR })).toBe(false);
    expect(await suite.store.get(absolute.id)).toBeNull();
    expect(await suite.store.listByUser('u1')).toStrictEqual([]);
    // Back in time, what is left is the record as it was set, not the refused write-back (a store
    // may also have dropped the expired record on the way: then there is nothing left at all).
    suite.now = T0;
    for (const original of [idle, absolute]) {
      const left = await suite.store.get(original.id);
      if (left) expect(left).toStrictEqual(original);
    }
  });
}
