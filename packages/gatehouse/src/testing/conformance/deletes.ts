import type { ConformanceSuite } from './api.js';
import { makeRecord, MINUTE, T0 } from './fixtures.js';

/** `delete` and `deleteByUser` ("sign out everywhere"). */
export function deleteCases(suite: ConformanceSuite): void {
  const { expect, it } = suite;

  it('delete removes one session; deleting an unknown id is a no-op', async () => {
    const a = makeRecord();
    const b = makeRecord();
    await suite.store.set(a);
    await suite.store.set(b);
    await suite.store.delete(a.id);
    await suite.store.delete('no-such-id');
    expect(await suite.store.get(a.id)).toBeNull();
    expect(await suite.store.get(b.id)).toStrictEqual(b);
  });

  it('deleteByUser deletes all live sessions of that user and returns the count', async () => {
    const mine = [makeRecord({ userId: 'u1' }), makeRecord({ userId: 'u1' }), makeRecord({ userId: 'u1' })];
    const theirs = makeRecord({ userId: 'u10' });
    for (const r of [...mine, theirs]) await suite.store.set(r);
    expect(await suite.store.deleteByUser('u1')).toBe(3);
    for (const r of mine) expect(await suite.store.get(r.id)).toBeNull();
    expect(await suite.store.listByUser('u1')).toStrictEqual([]);
    expect(await suite.store.get(theirs.id)).toStrictEqual(theirs);
    expect(await suite.store.deleteByUser('u1')).toBe(0);
    expect(await suite.store.deleteByUser('nobody')).toBe(0);
  });

  it('deleteByUser honours exceptId and does not count expired sessions', async () => {
    const keep = makeRecord({ userId: 'u1' });
    const other = makeRecord({ userId: 'u1' });
    const stale = makeRecord({ userId: 'u1', idleExpiresAt: T0 + MINUTE });
    for (const r of [keep, other, stale]) await suite.store.set(r);
    suite.now = T0 + 2 * MINUTE;
    expect(await suite.store.deleteByUser('u1', keep.id)).toBe(1);
    expect(await suite.store.listByUser('u1')).toStrictEqual([keep]);
    expect(await suite.store.get(other.id)).toBeNull();
  });
}
