/**
 * Cookie mode, ending a local session: the cookie is the session, so a copy captured before the
 * end (a stolen cookie, a second tab) must be refused afterwards. Sign-out, revoking one session,
 * "sign out everywhere" and a password change through the gateway write the revocation list and
 * apply at once. Account changes made outside the gateway (a removed user, a password set on the
 * account store, as `gatehouse users` does) are seen at the next revalidation, at most
 * `session.revalidateEvery` (5 min here) later: the window the titles name, asserted on both sides.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { login, PASSWORD, type TestGateway } from '../helpers/gateway.js';
import { BASE, cookieGateway, expectCleared, expectRefused, get, jarAfter, REVALIDATE, send } from './cookie-mode-fixture.js';

const NEW_PASSWORD = 'an entirely different passphrase';

let gw: TestGateway;
/** alice's session whose cookie the attacker copied. */
let captured: string;
let capturedId: string;
/** alice's other session (another device). */
let other: string;
let aliceId: string;

beforeEach(async () => {
  gw = await cookieGateway();
  captured = await login(gw);
  other = await login(gw);
  const view = (await get(gw, captured)).json();
  capturedId = view.session.id;
  aliceId = view.user.id;
});
afterEach(() => gw.close());

async function expectLive(cookie: string): Promise<void> {
  const res = await get(gw, cookie);
  expect(res.statusCode).toBe(200);
  expect(res.json().user.username).toBe('alice');
}

/** Refused on the session endpoint and on a protected file alike. */
async function expectReplayRefused(cookie: string): Promise<void> {
  expectRefused(await get(gw, cookie));
  expectRefused(await get(gw, cookie, '/files/report.txt'));
}

const registryIds = async () => (await gw.gatehouse.store.listByUser(aliceId)).map((r) => r.id);

describe('ended through the gateway: refused at once, no clock moved', () => {
  it('(a) logout: the captured copy is refused; the other device stays signed in', async () => {
    const res = await send(gw, 'POST', '/auth/logout', captured);
    expect(res.statusCode).toBe(200);
    expectCleared([res.headers['set-cookie'] ?? []].flat().find((h) => h.startsWith(`${BASE}=`)) as string);
    await expectReplayRefused(captured);
    await expectLive(other);
    expect(await registryIds()).not.toContain(capturedId);
    // Still refused at the next revalidation (the registry has no record either).
    gw.clock.advance(REVALIDATE);
    await expectReplayRefused(captured);
  });

  it('(b) DELETE /auth/sessions/:id from the other device: the captured copy is refused', async () => {
    const res = await send(gw, 'DELETE', `/auth/sessions/${capturedId}`, other);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ revoked: 1 });
    await expectReplayRefused(captured);
    await expectLive(other);
    expect(await registryIds()).not.toContain(capturedId);
  });

  it('(c) DELETE /auth/sessions (sign out everywhere else): the captured copy is refused, the caller stays', async () => {
    const third = await login(gw);
    const res = await send(gw, 'DELETE', '/auth/sessions', other);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ revoked: 2 });
    await expectReplayRefused(captured);
    await expectReplayRefused(third);
    await expectLive(other);
    expect(await registryIds()).toHaveLength(1);
  });

  it('(d) password change from the other device: every earlier cookie is refused; the changer continues under a new session, which survives revalidation', async () => {
    const res = await send(gw, 'POST', '/auth/password', other, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(200);
    const renewed = jarAfter(other, res);
    expect(renewed).not.toBe(other);
    await expectReplayRefused(captured);
    // The changer's own old cookie too: the session continues under a fresh id.
    await expectReplayRefused(other);
    await expectLive(renewed);
    gw.clock.advance(REVALIDATE);
    await expectLive(renewed);
    expect(await registryIds()).toEqual([res.json().session.id]);
  });
});

describe('changed outside the gateway: refused at the next revalidation', () => {
  it('(f) user removed (accounts.remove): still 200 for up to revalidateEvery (5 min, the documented window), then 401, cleared, registry emptied', async () => {
    expect(await gw.gatehouse.local!.accounts.remove('alice')).toBe(true);
    gw.clock.advance(REVALIDATE - 1);
    // Inside the window the cookie alone decides (what "revalidateEvery" trades for no store read).
    await expectLive(captured);
    await expectLive(other);
    gw.clock.advance(1);
    await expectReplayRefused(captured);
    await expectReplayRefused(other);
    // The check that refused it ended the sessions in the registry and the revocation list.
    expect(await registryIds()).toEqual([]);
  });

  it('(g) password set on the account store (setPassword, as `gatehouse users passwd` does): 200 until revalidateEvery, then 401 and cleared', async () => {
    // A second later than sign-in: the change is after the sessions began.
    gw.clock.advance(1000);
    await gw.gatehouse.local!.accounts.setPassword('alice', NEW_PASSWORD);
    gw.clock.advance(REVALIDATE - 1000 - 1);
    await expectLive(captured);
    gw.clock.advance(1);
    await expectReplayRefused(captured);
    await expectReplayRefused(other);
    // Signing in with the new password works: the account is fine, the old sessions are not.
    await expectLive(await login(gw, 'alice', NEW_PASSWORD));
  });

  it('(g) the CLI also deletes the sessions from the store (no revocation entry): refused at the same revalidation, not before', async () => {
    gw.clock.advance(1000);
    await gw.gatehouse.local!.accounts.setPassword('alice', NEW_PASSWORD);
    await gw.gatehouse.store.deleteByUser(aliceId);
    gw.clock.advance(REVALIDATE - 1000 - 1);
    await expectLive(captured);
    gw.clock.advance(1);
    await expectReplayRefused(captured);
  });

  it('roles changed do not end the session (control for (f) and (g): revalidation alone refuses nothing)', async () => {
    await gw.gatehouse.local!.accounts.setRoles('alice', ['user', 'editor']);
    gw.clock.advance(REVALIDATE);
    const res = await get(gw, captured);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.roles).toEqual(['user', 'editor']);
  });
});
