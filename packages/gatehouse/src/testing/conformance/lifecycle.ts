import type { ConformanceSuite } from './api.js';
import { HOUR, makeRecord, MINUTE, T0 } from './fixtures.js';

/** `ping`, `close` (then fail closed), the optional `countLive`, and a restart of a persistent store. */
export function lifecycleCases(suite: ConformanceSuite): void {
  const { expect, it } = suite;

  it('ping resolves while open', async () => {
    await expect(suite.store.ping()).resolves.toBeUndefined();
  });

  it('fails closed after close(): operations reject with store_unavailable', async () => {
    const record = makeRecord();
    await suite.store.set(record);
    await suite.store.close();
    await suite.store.close(); // idempotent
    for (const op of [
      () => suite.store.get(record.id),
      () => suite.store.set(makeRecord()),
      () => suite.store.update(record),
      () => suite.store.touch(record.id, T0, T0 + HOUR),
      () => suite.store.delete(record.id),
      () => suite.store.deleteByUser(record.userId),
      () => suite.store.listByUser(record.userId),
      () => suite.store.ping(),
    ]) {
      await expect(op()).rejects.toMatchObject({ name: 'StoreUnavailableError', code: 'store_unavailable', status: 503 });
    }
  });

  it('countLive counts the live sessions of every user, not expired or deleted ones (optional method)', async (ctx) => {
    if (!suite.store.countLive) {
      ctx.skip();
      return;
    }
    expect(await suite.store.countLive()).toBe(0);
    const idle = makeRecord({ userId: 'u1', idleExpiresAt: T0 + MINUTE });
    const absolute = makeRecord({ userId: 'u2', createdAt: T0 - 8 * HOUR + MINUTE, idleExpiresAt: T0 + 30 * MINUTE, expiresAt: T0 + MINUTE });
    const kept = makeRecord({ userId: 'u2' });
    const deleted = makeRecord({ userId: 'u3' });
    for (const record of [idle, absolute, kept, deleted]) await suite.store.set(record);
    await suite.store.delete(deleted.id);
    expect(await suite.store.countLive()).toBe(3);
    suite.now = T0 + MINUTE;
    expect(await suite.store.countLive()).toBe(1);
  });

  it('keeps sessions across a restart (persistent backends only)', async (ctx) => {
    if (!suite.sut.reopen) {
      ctx.skip();
      return;
    }
    const a = makeRecord({ userId: 'u1', createdAt: T0 - MINUTE });
    const b = makeRecord({ userId: 'u1' });
    await suite.store.set(a);
    await suite.store.set(b);
    await suite.store.touch(b.id, T0 + MINUTE, T0 + 31 * MINUTE);
    await suite.store.close();
    const again = await suite.sut.reopen();
    try {
      suite.now = T0 + 30 * MINUTE;
      expect(await again.get(a.id)).toBeNull();
      expect(await again.listByUser('u1')).toStrictEqual([
        { ...b, lastSeenAt: T0 + MINUTE, idleExpiresAt: T0 + 31 * MINUTE },
      ]);
    } finally {
      await again.close();
    }
  });
}
