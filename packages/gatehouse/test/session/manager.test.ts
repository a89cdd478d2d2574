/**
 * The session core over a real store (memory): the write-back of a refresh never revives a
 * session, and the per-user cap ends the oldest sessions, never the one being created.
 * The stores' side of both is proven per backend by test/stores/conformance.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { SessionManager } from '../../src/session/manager.js';
import { createMemoryStore, type MemorySessionStore } from '../../src/backends/stores/memory.js';
import { testClock, type TestClock } from '../helpers/gateway.js';
import { BASE_DIR, MINIMUM, problemsOf, withPatch } from '../config/helpers.js';

const MINUTE = 60_000;
const user = (id: string) => ({ id, username: id, roles: [] });
const login = (id = 'u1') => ({ user: user(id), provider: 'local', client: {} });

let store: MemorySessionStore;
let clock: TestClock;
afterEach(async () => store?.close());

function manager(maxPerUser?: number): SessionManager {
  clock = testClock();
  store = createMemoryStore({ clock });
  return new SessionManager({ store, clock, idleTimeout: 30 * MINUTE, absoluteTimeout: 12 * 60 * MINUTE, ...(maxPerUser ? { maxPerUser } : {}) });
}

describe('SessionManager.replace', () => {
  it('writes a live session back and says so', async () => {
    const sessions = manager();
    const { token, record } = await sessions.create(login());
    const next = { ...record, data: { refreshed: 1 } };
    expect(await sessions.replace(next)).toBe(true);
    expect(await sessions.resolve(token)).toStrictEqual(next);
  });

  it('is false, and brings nothing back, for a session revoked or signed out everywhere before the write-back', async () => {
    const sessions = manager();
    const one = await sessions.create(login());
    const two = await sessions.create(login());
    await sessions.revoke(one.record.id);
    expect(await sessions.replace({ ...one.record, data: { refreshed: 1 } })).toBe(false);
    expect(await sessions.resolve(one.token)).toBeNull();
    expect((await sessions.list('u1')).map((r) => r.id)).toStrictEqual([two.record.id]);
    expect(await sessions.revokeUser('u1')).toBe(1);
    expect(await sessions.replace({ ...two.record, data: { refreshed: 1 } })).toBe(false);
    expect(await sessions.resolve(two.token)).toBeNull();
    expect(await sessions.list('u1')).toStrictEqual([]);
  });
});

describe('SessionManager per-user cap', () => {
  it('defaults to 50', () => {
    expect(manager().maxPerUser).toBe(50);
  });

  it('a sign-in beyond the cap ends the user’s oldest sessions, never the new one nor another user’s', async () => {
    const sessions = manager(3);
    const other = await sessions.create(login('u2'));
    const created = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000);
      created.push(await sessions.create(login()));
    }
    expect((await sessions.list('u1')).map((r) => r.id)).toStrictEqual(created.slice(2).reverse().map((c) => c.record.id));
    // Each sign-in says how many it ended (the audit log's `evicted`): none until the cap, then one.
    expect(created.map((c) => c.evicted)).toStrictEqual([0, 0, 0, 1, 1]);
    for (const { token } of created.slice(0, 2)) expect(await sessions.resolve(token)).toBeNull();
    expect(await sessions.resolve(other.token)).not.toBeNull();
  });

  it('keeps the new session even when every other one was created in the same millisecond', async () => {
    const sessions = manager(2);
    const created = [];
    for (let i = 0; i < 4; i++) created.push(await sessions.create(login()));
    const listed = (await sessions.list('u1')).map((r) => r.id);
    expect(listed).toHaveLength(2);
    expect(listed).toContain(created[3]?.record.id);
  });

  it('two sign-ins racing under a cap of 1 leave the later one, not none', async () => {
    const sessions = manager(1);
    const earlier = sessions.create(login());
    clock.advance(1);
    const later = sessions.create(login());
    const [a, b] = await Promise.all([earlier, later]);
    expect((await sessions.list('u1')).map((r) => r.id)).toStrictEqual([b.record.id]);
    expect(await sessions.resolve(a.token)).toBeNull();
  });

  it('trims a user far over the cap (sessions from before it existed) in one sign-in', async () => {
    const sessions = manager(50);
    const uncapped = new SessionManager({ store, clock, idleTimeout: 30 * MINUTE, absoluteTimeout: 12 * 60 * MINUTE, maxPerUser: 1000 });
    for (let i = 0; i < 300; i++) await uncapped.create(login());
    clock.advance(1_000);
    const fresh = await sessions.create(login());
    expect(fresh.evicted).toBe(251);
    const listed = await sessions.list('u1');
    expect(listed).toHaveLength(50);
    expect(listed[0]?.id).toBe(fresh.record.id);
  });
});

describe('config session.maxPerUser', () => {
  it('defaults to 50 and takes an integer from 1 to 1000', () => {
    expect(resolveConfig(MINIMUM, { baseDir: BASE_DIR, env: {} }).session.maxPerUser).toBe(50);
    for (const ok of [1, 1000]) {
      expect(resolveConfig(withPatch({ session: { ...MINIMUM.session, maxPerUser: ok } }), { baseDir: BASE_DIR, env: {} }).session.maxPerUser).toBe(ok);
    }
    for (const bad of [0, 1001, 2.5, '10']) {
      expect(problemsOf(withPatch({ session: { ...MINIMUM.session, maxPerUser: bad } })).map((p) => p.key)).toStrictEqual(['session.maxPerUser']);
    }
  });
});
