import type { ConformanceSuite } from './api.js';
import { HOUR, makeRecord, MINUTE, T0 } from './fixtures.js';

/** Expiry: idle and absolute, decided by the clock, and `touch`, which slides only a live session. */
export function expiryCases(suite: ConformanceSuite): void {
  const { expect, it } = suite;

  it('expires on idle: null and not listed once the clock reaches idleExpiresAt', async () => {
    const record = makeRecord();
    await suite.store.set(record);
    suite.now = record.idleExpiresAt - 1;
    expect(await suite.store.get(record.id)).toStrictEqual(record);
    suite.now = record.idleExpiresAt;
    expect(await suite.store.get(record.id)).toBeNull();
    expect(await suite.store.listByUser(record.userId)).toStrictEqual([]);
  });

  it('expires absolutely at expiresAt even when the idle expiry is later', async () => {
    const record = makeRecord({ idleExpiresAt: T0 + 2 * HOUR, expiresAt: T0 + HOUR });
    await suite.store.set(record);
    suite.now = T0 + HOUR - 1;
    expect((await suite.store.listByUser(record.userId)).map((r) => r.id)).toStrictEqual([record.id]);
    suite.now = T0 + HOUR;
    expect(await suite.store.listByUser(record.userId)).toStrictEqual([]);
    expect(await suite.store.get(record.id)).toBeNull();
  });

  it('touch slides idleExpiresAt and lastSeenAt', async () => {
    const record = makeRecord();
    await suite.store.set(record);
    suite.now = T0 + 20 * MINUTE;
    await suite.store.touch(record.id, suite.now, suite.now + 30 * MINUTE);
    expect(await suite.store.get(record.id)).toStrictEqual({
      ...record,
      lastSeenAt: T0 + 20 * MINUTE,
      idleExpiresAt: T0 + 50 * MINUTE,
    });
    // Past the old idle expiry, before the new one: still live.
    suite.now = T0 + 40 * MINUTE;
    expect((await suite.store.get(record.id))?.idleExpiresAt).toBe(T0 + 50 * MINUTE);
    suite.now = T0 + 50 * MINUTE;
    expect(await suite.store.get(record.id)).toBeNull();
  });

  it('touch of an unknown id is a no-op and creates nothing', async () => {
    await suite.store.touch('ghost', T0, T0 + HOUR);
    expect(await suite.store.get('ghost')).toBeNull();
    expect(await suite.store.listByUser('user-1')).toStrictEqual([]);
  });

  it('touch does not revive an expired session', async () => {
    const record = makeRecord();
    await suite.store.set(record);
    suite.now = record.idleExpiresAt + 1;
    await suite.store.touch(record.id, suite.now, suite.now + 30 * MINUTE);
    expect(await suite.store.get(record.id)).toBeNull();
  });
}
