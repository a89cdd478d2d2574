/**
 * The one conformance suite every session store runs (memory, sqlite, redis, postgres, and a
 * third party's own). A backend's test file only supplies a factory; it never re-states the
 * contract. Exported as `gatehouse/testing`, not from the main entry. It imports no test
 * framework: the caller hands in `describe`, `it`, `expect`, `beforeEach` and `afterEach`
 * (vitest's, or any framework with its Jest-style API and `ctx.skip()`), so gatehouse depends on none.
 *
 * Time is a fake clock the suite moves: no test sleeps.
 */
import type { Clock } from '../clock.js';
import type { SessionRecord, SessionStore } from '../session/model.js';

/** What a backend hands the suite for one test. */
export interface StoreUnderTest {
  store: SessionStore;
  /** Open a new store over the same data (a restart). Only for persistent backends. */
  reopen?: () => Promise<SessionStore>;
  /** Release everything (files, connections). Runs after each test, even when the store is closed. */
  cleanup: () => Promise<void>;
}

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let seq = 0;
/** A record as the session core would write it: idle 30 min, absolute 8 h from `createdAt`. */
export function makeRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  seq++;
  const createdAt = overrides.createdAt ?? T0;
  const userId = overrides.userId ?? 'user-1';
  return {
    id: `sess_${seq.toString().padStart(6, '0')}-AbC_xyz`,
    userId,
    user: { id: userId, username: 'ada', name: 'Ada Lovelace', email: 'ada@example.test', roles: ['admin', 'dev'] },
    provider: 'local',
    createdAt,
    lastSeenAt: createdAt,
    idleExpiresAt: createdAt + 30 * MINUTE,
    expiresAt: createdAt + 8 * HOUR,
    client: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
    data: { tokens: { access: 'enc:abc', expiresAt: createdAt + HOUR }, flags: [1, 'two', null, true] },
    ...overrides,
  };
}

/** The matchers the suite uses: a subset of vitest's (and Jest's) `expect`. */
export interface ConformanceAssertion {
  toBe(expected: unknown): void;
  toBeNull(): void;
  toStrictEqual(expected: unknown): void;
  toHaveLength(length: number): void;
  toBeInstanceOf(expected: unknown): void;
  resolves: { toBeUndefined(): Promise<unknown> };
  rejects: { toMatchObject(expected: object): Promise<unknown> };
}

/** The test framework the suite runs in: pass vitest's functions (`import * as vitest from 'vitest'`). */
export interface ConformanceTestApi {
  describe(name: string, body: () => void): unknown;
  /** A test; the suite skips the optional-method tests with `ctx.skip()`, as vitest provides it. */
  it(name: string, body: (ctx: { skip(): void }) => Promise<void>): unknown;
  beforeEach(hook: () => Promise<void>): unknown;
  afterEach(hook: () => Promise<void>): unknown;
  expect(actual: unknown, message?: string): ConformanceAssertion;
}

/**
 * Run the session store contract against one backend: `factory` opens a fresh store (with the
 * suite's fake clock) for each test.
 */
export function runStoreConformance(test: ConformanceTestApi, name: string, factory: (clock: Clock) => Promise<StoreUnderTest>): void {
  const { afterEach, beforeEach, describe, expect, it } = test;
  describe(`session store conformance: ${name}`, () => {
    let now = T0;
    const clock: Clock = () => now;
    let sut: StoreUnderTest;
    let store: SessionStore;

    beforeEach(async () => {
      now = T0;
      sut = await factory(clock);
      store = sut.store;
    });

    afterEach(async () => {
      await sut.store.close();
      await sut.cleanup();
    });

    it('round-trips every field, including nested user, client and data', async () => {
      const record = makeRecord();
      await store.set(record);
      expect(await store.get(record.id)).toStrictEqual(record);
    });

    it('round-trips a record without optional fields', async () => {
      const record = makeRecord({ user: { id: 'user-1', roles: [] }, client: {}, provider: 'google' });
      delete record.data;
      await store.set(record);
      expect(await store.get(record.id)).toStrictEqual(record);
    });

    it('returns null for an unknown id', async () => {
      await store.set(makeRecord());
      expect(await store.get('no-such-id')).toBeNull();
    });

    it('cannot be changed through a record it was given or handed out (copies, or frozen)', async () => {
      const record = makeRecord();
      const original = structuredClone(record);
      await store.set(record);
      record.user.roles.push('root');
      record.idleExpiresAt = 0;
      const got = await store.get(record.id);
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
      expect(await store.get(record.id)).toStrictEqual(original);
      const [listed] = await store.listByUser(record.userId);
      attempt(() => listed?.user.roles.push('root'));
      expect(await store.get(record.id)).toStrictEqual(original);
    });

    it('expires on idle: null and not listed once the clock reaches idleExpiresAt', async () => {
      const record = makeRecord();
      await store.set(record);
      now = record.idleExpiresAt - 1;
      expect(await store.get(record.id)).toStrictEqual(record);
      now = record.idleExpiresAt;
      expect(await store.get(record.id)).toBeNull();
      expect(await store.listByUser(record.userId)).toStrictEqual([]);
    });

    it('expires absolutely at expiresAt even when the idle expiry is later', async () => {
      const record = makeRecord({ idleExpiresAt: T0 + 2 * HOUR, expiresAt: T0 + HOUR });
      await store.set(record);
      now = T0 + HOUR - 1;
      expect((await store.listByUser(record.userId)).map((r) => r.id)).toStrictEqual([record.id]);
      now = T0 + HOUR;
      expect(await store.listByUser(record.userId)).toStrictEqual([]);
      expect(await store.get(record.id)).toBeNull();
    });

    it('touch slides idleExpiresAt and lastSeenAt', async () => {
      const record = makeRecord();
      await store.set(record);
      now = T0 + 20 * MINUTE;
      await store.touch(record.id, now, now + 30 * MINUTE);
      expect(await store.get(record.id)).toStrictEqual({
        ...record,
        lastSeenAt: T0 + 20 * MINUTE,
        idleExpiresAt: T0 + 50 * MINUTE,
      });
      // Past the old idle expiry, before the new one: still live.
      now = T0 + 40 * MINUTE;
      expect((await store.get(record.id))?.idleExpiresAt).toBe(T0 + 50 * MINUTE);
      now = T0 + 50 * MINUTE;
      expect(await store.get(record.id)).toBeNull();
    });

    it('touch of an unknown id is a no-op and creates nothing', async () => {
      await store.touch('ghost', T0, T0 + HOUR);
      expect(await store.get('ghost')).toBeNull();
      expect(await store.listByUser('user-1')).toStrictEqual([]);
    });

    it('touch does not revive an expired session', async () => {
      const record = makeRecord();
      await store.set(record);
      now = record.idleExpiresAt + 1;
      await store.touch(record.id, now, now + 30 * MINUTE);
      expect(await store.get(record.id)).toBeNull();
    });

    it('set replaces the whole record, including a move to another user', async () => {
      const first = makeRecord({ userId: 'user-1' });
      await store.set(first);
      const second = makeRecord({ id: first.id, userId: 'user-2', provider: 'github', data: { v: 2 } });
      await store.set(second);
      expect(await store.get(first.id)).toStrictEqual(second);
      expect(await store.listByUser('user-1')).toStrictEqual([]);
      expect(await store.listByUser('user-2')).toStrictEqual([second]);
    });

    it('update replaces the record of a live session: true, and every new field reads back', async () => {
      const record = makeRecord({ userId: 'u1' });
      const other = makeRecord({ userId: 'u1', createdAt: T0 - MINUTE });
      await store.set(record);
      await store.set(other);
      now = T0 + 10 * MINUTE;
      const next: SessionRecord = {
        ...record,
        user: { ...record.user, name: 'Ada King', roles: ['dev'] },
        provider: 'github',
        lastSeenAt: now,
        idleExpiresAt: now + 30 * MINUTE,
        client: { ip: '198.51.100.9' },
        data: { tokens: { access: 'enc:new', expiresAt: now + HOUR }, flags: [] },
      };
      expect(await store.update(next)).toBe(true);
      expect(await store.get(record.id)).toStrictEqual(next);
      expect(await store.listByUser('u1')).toStrictEqual([next, other]);
      // Past the old idle expiry, before the new one: the new expiry is the one that counts.
      now = T0 + 35 * MINUTE;
      expect(await store.get(record.id)).toStrictEqual(next);
      // A second update, dropping the optional data.
      const bare = { ...next, lastSeenAt: now };
      delete bare.data;
      expect(await store.update(bare)).toBe(true);
      expect(await store.get(record.id)).toStrictEqual(bare);
    });

    it('update of a deleted session is false and brings nothing back (no record, no listing)', async () => {
      const record = makeRecord({ userId: 'u1' });
      await store.set(record);
      await store.delete(record.id);
      expect(await store.update({ ...record, data: { refreshed: true } })).toBe(false);
      expect(await store.get(record.id)).toBeNull();
      expect(await store.listByUser('u1')).toStrictEqual([]);
      expect(await store.deleteByUser('u1')).toBe(0);
      // Nor does an id that never existed.
      expect(await store.update(makeRecord({ id: 'never-was', userId: 'u1' }))).toBe(false);
      expect(await store.get('never-was')).toBeNull();
      expect(await store.listByUser('u1')).toStrictEqual([]);
    });

    it('update after deleteByUser ("sign out everywhere") is false and brings nothing back', async () => {
      const a = makeRecord({ userId: 'u1' });
      const b = makeRecord({ userId: 'u1' });
      await store.set(a);
      await store.set(b);
      expect(await store.deleteByUser('u1')).toBe(2);
      expect(await store.update({ ...a, lastSeenAt: T0 + MINUTE })).toBe(false);
      expect(await store.update(b)).toBe(false);
      expect(await store.get(a.id)).toBeNull();
      expect(await store.get(b.id)).toBeNull();
      expect(await store.listByUser('u1')).toStrictEqual([]);
    });

    it('update naming another user is false and leaves the record, and both users’ listings, unchanged', async () => {
      const record = makeRecord({ userId: 'u1' });
      await store.set(record);
      const hijack = { ...record, userId: 'u2', user: { id: 'u2', roles: ['admin'] } };
      expect(await store.update(hijack)).toBe(false);
      expect(await store.get(record.id)).toStrictEqual(record);
      expect(await store.listByUser('u1')).toStrictEqual([record]);
      expect(await store.listByUser('u2')).toStrictEqual([]);
    });

    it('update of an expired session is false, whether idle or absolute expiry came first, and does not revive it', async () => {
      const idle = makeRecord({ userId: 'u1' });
      const absolute = makeRecord({ userId: 'u1', idleExpiresAt: T0 + 2 * HOUR, expiresAt: T0 + HOUR });
      await store.set(idle);
      await store.set(absolute);
      now = idle.idleExpiresAt;
      // A write-back that would slide the idle expiry again must not bring it back.
      expect(await store.update({ ...idle, lastSeenAt: now, idleExpiresAt: now + 30 * MINUTE })).toBe(false);
      expect(await store.get(idle.id)).toBeNull();
      now = absolute.expiresAt;
      expect(await store.update({ ...absolute, expiresAt: now + HOUR })).toBe(false);
      expect(await store.get(absolute.id)).toBeNull();
      expect(await store.listByUser('u1')).toStrictEqual([]);
      // Back in time, what is left is the record as it was set, not the refused write-back (a store
      // may also have dropped the expired record on the way: then there is nothing left at all).
      now = T0;
      for (const original of [idle, absolute]) {
        const left = await store.get(original.id);
        if (left) expect(left).toStrictEqual(original);
      }
    });

    it('delete removes one session; deleting an unknown id is a no-op', async () => {
      const a = makeRecord();
      const b = makeRecord();
      await store.set(a);
      await store.set(b);
      await store.delete(a.id);
      await store.delete('no-such-id');
      expect(await store.get(a.id)).toBeNull();
      expect(await store.get(b.id)).toStrictEqual(b);
    });

    it('deleteByUser deletes all live sessions of that user and returns the count', async () => {
      const mine = [makeRecord({ userId: 'u1' }), makeRecord({ userId: 'u1' }), makeRecord({ userId: 'u1' })];
      const theirs = makeRecord({ userId: 'u10' });
      for (const r of [...mine, theirs]) await store.set(r);
      expect(await store.deleteByUser('u1')).toBe(3);
      for (const r of mine) expect(await store.get(r.id)).toBeNull();
      expect(await store.listByUser('u1')).toStrictEqual([]);
      expect(await store.get(theirs.id)).toStrictEqual(theirs);
      expect(await store.deleteByUser('u1')).toBe(0);
      expect(await store.deleteByUser('nobody')).toBe(0);
    });

    it('deleteByUser honours exceptId and does not count expired sessions', async () => {
      const keep = makeRecord({ userId: 'u1' });
      const other = makeRecord({ userId: 'u1' });
      const stale = makeRecord({ userId: 'u1', idleExpiresAt: T0 + MINUTE });
      for (const r of [keep, other, stale]) await store.set(r);
      now = T0 + 2 * MINUTE;
      expect(await store.deleteByUser('u1', keep.id)).toBe(1);
      expect(await store.listByUser('u1')).toStrictEqual([keep]);
      expect(await store.get(other.id)).toBeNull();
    });

    it('listByUser returns only that user’s live sessions, newest first', async () => {
      const old = makeRecord({ userId: 'u1', createdAt: T0 - 3 * MINUTE });
      const newest = makeRecord({ userId: 'u1', createdAt: T0 - MINUTE });
      const middle = makeRecord({ userId: 'u1', createdAt: T0 - 2 * MINUTE });
      const expired = makeRecord({ userId: 'u1', createdAt: T0 - HOUR });
      const prefixUser = makeRecord({ userId: 'u', createdAt: T0 });
      for (const r of [old, newest, middle, expired, prefixUser]) await store.set(r);
      expect(await store.listByUser('u1')).toStrictEqual([newest, middle, old]);
      expect(await store.listByUser('u')).toStrictEqual([prefixUser]);
      expect(await store.listByUser('u2')).toStrictEqual([]);
    });

    it('accepts ids with base64url and other odd characters', async () => {
      const ids = ['Ab-_9zQ-_xYz0123456789-_abcdefghijklmnopqr', "a'b\"c%_*\\", 'ünïcødé-🔑'];
      for (const id of ids) await store.set(makeRecord({ id }));
      for (const id of ids) expect((await store.get(id))?.id).toBe(id);
      expect(await store.get('Ab-_9zQ-_xYz0123456789-_abcdefghijklmnopq%')).toBeNull();
      await store.delete(ids[1] as string);
      expect(await store.get(ids[1] as string)).toBeNull();
      expect((await store.listByUser('user-1')).map((r) => r.id).sort()).toStrictEqual([ids[0], ids[2]].sort());
    });

    it('lists 500 sessions of one user, in order', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 500; i++) {
        const r = makeRecord({ userId: 'busy', createdAt: T0 - i * 1000 });
        ids.push(r.id);
        await store.set(r);
      }
      await store.set(makeRecord({ userId: 'quiet' }));
      const listed = await store.listByUser('busy');
      expect(listed.map((r) => r.id)).toStrictEqual(ids);
      expect(await store.deleteByUser('busy', ids[0])).toBe(499);
      expect((await store.listByUser('busy')).map((r) => r.id)).toStrictEqual([ids[0]]);
      expect(await store.listByUser('quiet')).toHaveLength(1);
    });

    it('ping resolves while open', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('fails closed after close(): operations reject with store_unavailable', async () => {
      const record = makeRecord();
      await store.set(record);
      await store.close();
      await store.close(); // idempotent
      for (const op of [
        () => store.get(record.id),
        () => store.set(makeRecord()),
        () => store.update(record),
        () => store.touch(record.id, T0, T0 + HOUR),
        () => store.delete(record.id),
        () => store.deleteByUser(record.userId),
        () => store.listByUser(record.userId),
        () => store.ping(),
      ]) {
        await expect(op()).rejects.toMatchObject({ name: 'StoreUnavailableError', code: 'store_unavailable', status: 503 });
      }
    });

    it('countLive counts the live sessions of every user, not expired or deleted ones (optional method)', async (ctx) => {
      if (!store.countLive) {
        ctx.skip();
        return;
      }
      expect(await store.countLive()).toBe(0);
      const idle = makeRecord({ userId: 'u1', idleExpiresAt: T0 + MINUTE });
      const absolute = makeRecord({ userId: 'u2', createdAt: T0 - 8 * HOUR + MINUTE, idleExpiresAt: T0 + 30 * MINUTE, expiresAt: T0 + MINUTE });
      const kept = makeRecord({ userId: 'u2' });
      const deleted = makeRecord({ userId: 'u3' });
      for (const record of [idle, absolute, kept, deleted]) await store.set(record);
      await store.delete(deleted.id);
      expect(await store.countLive()).toBe(3);
      now = T0 + MINUTE;
      expect(await store.countLive()).toBe(1);
    });

    it('keeps sessions across a restart (persistent backends only)', async (ctx) => {
      if (!sut.reopen) {
        ctx.skip();
        return;
      }
      const a = makeRecord({ userId: 'u1', createdAt: T0 - MINUTE });
      const b = makeRecord({ userId: 'u1' });
      await store.set(a);
      await store.set(b);
      await store.touch(b.id, T0 + MINUTE, T0 + 31 * MINUTE);
      await store.close();
      const again = await sut.reopen();
      try {
        now = T0 + 30 * MINUTE;
        expect(await again.get(a.id)).toBeNull();
        expect(await again.listByUser('u1')).toStrictEqual([
          { ...b, lastSeenAt: T0 + MINUTE, idleExpiresAt: T0 + 31 * MINUTE },
        ]);
      } finally {
        await again.close();
      }
    });
  });
}
