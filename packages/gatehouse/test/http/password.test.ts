import { afterEach, describe, expect, it } from 'vitest';
import { login, PASSWORD, SAME_ORIGIN, sessionCookieFrom, testGateway, type TestGateway } from '../helpers/gateway.js';
import { SESSION_MODES, withMode } from '../helpers/session-modes.js';

let gw: TestGateway;
afterEach(async () => gw?.close());

const NEW_PASSWORD = 'a brand new passphrase';

async function alive(cookie: string): Promise<boolean> {
  return (await gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } })).statusCode === 200;
}

// Ending the other sessions is revocation, which each session mode does its own way: both modes.
describe.each(SESSION_MODES)('POST /auth/password (session mode %s)', (mode) => {
  it('changes the password, ends every other session, and re-issues the current one under a new id', async () => {
    gw = await testGateway(withMode(mode));
    const laptop = await login(gw);
    const phone = await login(gw);
    const bob = await login(gw, 'bob');
    const res = await gw.inject({
      method: 'POST',
      url: '/auth/password',
      headers: { ...SAME_ORIGIN, cookie: laptop },
      payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    const renewed = sessionCookieFrom(res);
    expect(renewed).not.toBe(laptop);
    expect(await alive(laptop)).toBe(false);
    expect(await alive(phone)).toBe(false);
    expect(await alive(renewed)).toBe(true);
    expect(await alive(bob)).toBe(true);
    // The old password no longer works, the new one does.
    const old = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: PASSWORD } });
    expect(old.statusCode).toBe(401);
    expect((await login(gw, 'alice', NEW_PASSWORD)).length).toBeGreaterThan(0);
  });

  it('refuses a wrong current password and a weak new one, changing nothing', async () => {
    gw = await testGateway(withMode(mode));
    const cookie = await login(gw);
    const other = await login(gw);
    const wrong = await gw.inject({ method: 'POST', url: '/auth/password', headers: { ...SAME_ORIGIN, cookie }, payload: { currentPassword: 'nope', newPassword: NEW_PASSWORD } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error).toBe('invalid_credentials');
    const weak = await gw.inject({ method: 'POST', url: '/auth/password', headers: { ...SAME_ORIGIN, cookie }, payload: { currentPassword: PASSWORD, newPassword: 'short' } });
    expect(weak.statusCode).toBe(400);
    expect(weak.json()).toEqual({ error: 'password_rejected', message: expect.stringMatching(/at least 8/) });
    expect(await alive(cookie)).toBe(true);
    expect(await alive(other)).toBe(true);
    expect((await login(gw, 'alice', PASSWORD)).length).toBeGreaterThan(0);
  });

  it('needs a session and the CSRF header', async () => {
    gw = await testGateway(withMode(mode));
    const cookie = await login(gw);
    const anonymous = await gw.inject({ method: 'POST', url: '/auth/password', headers: SAME_ORIGIN, payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
    expect(anonymous.statusCode).toBe(401);
    const forged = await gw.inject({ method: 'POST', url: '/auth/password', headers: { cookie, origin: 'https://evil.example' }, payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
    expect(forged.statusCode).toBe(403);
    expect((await login(gw, 'alice', PASSWORD)).length).toBeGreaterThan(0);
  });
});
