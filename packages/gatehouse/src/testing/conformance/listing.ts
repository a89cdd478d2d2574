import type { ConformanceSuite } from './api.js';
import { HOUR, makeRecord, MINUTE, T0 } from './fixtures.js';

/** `listByUser`: only that user’s live sessions, newest first, whatever the id or the number of sessions. */
export function listingCases(suite: ConformanceSuite): void {
  const { expect, it } = suite;

  it('listByUser returns only that user’s live sessions, newest first', async () => {
    const old = makeRecord({ userId: 'u1', createdAt: T0 - 3 * MINUTE });
    const newest = makeRecord({ userId: 'u1', createdAt: T0 - MINUTE });
    const middle = makeRecord({ userId: 'u1', createdAt: T0 - 2 * MINUTE });
    const expired = makeRecord({ userId: 'u1', createdAt: T0 - HOUR });
    const prefixUser = makeRecord({ userId: 'u', createdAt: T0 });
    for (const r of [old, newest, middle, expired, prefixUser]) await suite.store.set(r);
    expect(await suite.store.listByUser('u1')).toStrictEqual([newest, middle, old]);
    expect(await suite.store.listByUser('u')).toStrictEqual([prefixUser]);
    expect(await suite.store.listByUser('u2')).toStrictEqual([]);
  });

  it('accepts ids with base64url and other odd characters', async () => {
    const ids = ['Ab-_9zQ-_xYz0123456789-_abcdefghijklmnopqr', "a'b\"c%_*\\", 'ünïcødé-🔑'];
    for (const id of ids) await suite.store.set(makeRecord({ id }));
    for (const id of ids) expect((await suite.store.get(id))?.id).toBe(id);
    expect(await suite.store.get('Ab-_9zQ-_xYz0123456789-_abcdefghijklmnopq%')).toBeNull();
    await suite.store.delete(ids[1] as string);
    expect(await suite.store.get(ids[1] as string)).toBeNull();
    expect((await suite.store.listByUser('user-1')).map((r) => r.id).sort()).toStrictEqual([ids[0], ids[2]].sort());
  });

  it('lists 500 sessions of one user, in order', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) {
      const r = makeRecord({ userId: 'busy', createdAt: T0 - i * 1000 });
      ids.push(r.id);
      await suite.store.set(r);
    }
    await suite.store.set(makeRecord({ userId: 'quiet' }));
    const listed = await suite.store.listByUser('busy');
    expect(listed.map((r) => r.id)).toStrictEqual(ids);
    expect(await suite.store.deleteByUser('busy', ids[0])).toBe(499);
    expect((await suite.store.listByUser('busy')).map((r) => r.id)).toStrictEqual([ids[0]]);
    expect(await suite.store.listByUser('quiet')).toHaveLength(1);
  });
}
