/**
 * Cookie mode, claims that change after sign-in: the cookie carries the user, so a changed role
 * is seen at the next revalidation (`session.revalidateEvery`, 5 min here), and not before: that
 * window is what a request without a store read costs, and both sides of it are asserted. At the
 * revalidation the answer has the new claims, the cookie is re-issued with them, and the registry
 * (the store's session list, "your devices") holds them too.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { login, type TestGateway } from '../helpers/gateway.js';
import { cookieGateway, get, jarAfter, payloadOf, REVALIDATE, written } from './cookie-mode-fixture.js';

let gw: TestGateway;
beforeEach(async () => {
  gw = await cookieGateway();
});
afterEach(() => gw.close());

describe('roles changed on the account (accounts.setRoles)', () => {
  it('before revalidateEvery the cookie still says the old roles; at it GET /auth/session answers the new ones, re-issues the cookie and the registry has them', async () => {
    const cookie = await login(gw);
    const aliceId = (await get(gw, cookie)).json().user.id;
    await gw.gatehouse.local!.accounts.setRoles('alice', ['user', 'editor']);

    gw.clock.advance(REVALIDATE - 1);
    const stale = await get(gw, cookie);
    expect(stale.statusCode).toBe(200);
    expect(stale.json().user.roles).toEqual(['user']);
    // A slide re-issues the cookie inside the window, still with the roles it had.
    const slid = jarAfter(cookie, stale);
    expect((await payloadOf(gw, slid))?.user.roles).toEqual(['user']);
    expect((await gw.gatehouse.store.listByUser(aliceId))[0]?.user.roles).toEqual(['user']);

    gw.clock.advance(1);
    const fresh = await get(gw, slid);
    expect(fresh.statusCode).toBe(200);
    expect(fresh.json().user.roles).toEqual(['user', 'editor']);
    expect(written(fresh)).toHaveLength(1);
    const renewed = jarAfter(slid, fresh);
    const payload = await payloadOf(gw, renewed);
    expect(payload?.user.roles).toEqual(['user', 'editor']);
    expect(payload?.k).toBe(gw.clock());
    const registry = await gw.gatehouse.store.listByUser(aliceId);
    expect(registry.map((r) => r.user.roles)).toEqual([['user', 'editor']]);
    // The re-issued cookie answers the new roles with nothing more to re-issue.
    const next = await get(gw, renewed);
    expect(next.json().user.roles).toEqual(['user', 'editor']);
    expect(written(next)).toEqual([]);
  });

  it('a copy of the cookie from before the change cannot keep the old roles past the window: it is re-checked too', async () => {
    const old = await login(gw);
    await gw.gatehouse.local!.accounts.setRoles('alice', ['user', 'editor']);
    gw.clock.advance(REVALIDATE);
    const current = jarAfter(old, await get(gw, old));
    // The old copy, replayed after the renewed one was issued, answers the current roles as well.
    const replay = await get(gw, old);
    expect(replay.statusCode).toBe(200);
    expect(replay.json().user.roles).toEqual(['user', 'editor']);
    expect((await get(gw, current)).json().user.roles).toEqual(['user', 'editor']);
  });

  it("admin removed from bob: /admin still served inside the window (revalidateEvery), 403 from the revalidation on", async () => {
    const cookie = await login(gw, 'bob');
    expect((await get(gw, cookie, '/admin/payroll.txt')).statusCode).toBe(200);
    await gw.gatehouse.local!.accounts.setRoles('bob', ['user']);
    gw.clock.advance(REVALIDATE - 1);
    const inside = await get(gw, cookie, '/admin/payroll.txt');
    expect(inside.statusCode).toBe(200);
    const slid = jarAfter(cookie, inside);
    gw.clock.advance(1);
    const after = await get(gw, slid, '/admin/payroll.txt');
    expect(after.statusCode).toBe(403);
    expect(after.body).not.toContain('payroll');
    // The refusal re-issues the cookie with the reduced roles (the session itself is fine).
    expect((await payloadOf(gw, jarAfter(slid, after)))?.user.roles).toEqual(['user']);
    expect((await get(gw, jarAfter(slid, after), '/files/report.txt')).statusCode).toBe(200);
  });

  it('roles granted: /admin refused inside the window, served from the revalidation on', async () => {
    const cookie = await login(gw);
    expect((await get(gw, cookie, '/admin/payroll.txt')).statusCode).toBe(403);
    await gw.gatehouse.local!.accounts.setRoles('alice', ['user', 'admin']);
    gw.clock.advance(REVALIDATE - 1);
    expect((await get(gw, cookie, '/admin/payroll.txt')).statusCode).toBe(403);
    gw.clock.advance(1);
    expect((await get(gw, cookie, '/admin/payroll.txt')).statusCode).toBe(200);
  });
});
