import type { ConformanceSuite } from './api.js';
import { makeRecord } from './fixtures.js';

/** Round trips: what a store is given is what it hands back, and neither can be changed through the other. */
export function recordCases(suite: ConformanceSuite): void {
  const { expect, it } = suite;

  it('round-trips every field, including nested user, client and data', async () => {
    const record = makeRecord();
    await suite.store.set(record);
    expect(await suite.store.get(record.id)).toStrictEqual(record);
  });

  it('round-trips a record without optional fields', async () => {
    const record = makeRecord({ user: { id: 'user-1', roles: [] }, client: {}, provider: 'google' });
    delete record.data;
    await suite.store.set(record);
    expect(await suite.store.get(record.id)).toStrictEqual(record);
  });

  it('returns null for an unknown id', async () => {
    await suite.store.set(makeRecord());
    expect(await suite.store.get('no-such-id')).toBeNull();
  });

  it('cannot be changed through a record it was given or handed out (copies, or frozen)', async () => {
    const record = makeRecord();
    const original = structuredClone(record);
    await suite.store.set(record);
    record.user.roles.push('root');
    record.idleExpiresAt = 0;
    const got = await suite.store.get(record.id);
    expect(got).toStrictEqual(original);
    if (!got) throw new Error('unreachable');
    // A store may hand out frozen records instead of copies: then the mutation throws.
    const attempt = (mutate: () => void) => {
      try {
        mutate();
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError);
      }
    };
    attempt(() => got.user.roles.push('root'));
    attempt(() => {
      got.client.ip = '198.51.100.1';
    });
    attempt(() => (got.data as { flags: unknown[] }).flags.push('x'));
    attempt(() => {
      got.idleExpiresAt = 0;
    });
    expect(await suite.store.get(record.id)).toStrictEqual(original);
    const [listed] = await suite.store.listByUser(record.userId);
    attempt(() => listed?.user.roles.push('root'));
    expect(await suite.store.get(record.id)).toStrictEqual(original);
  });
}
