import { afterEach, describe, expect, it } from 'vitest';
import { login, ORIGIN, PASSWORD, SAME_ORIGIN, setCookies, testGateway, type TestGateway } from '../helpers/gateway.js';
import { SESSION_MODES, withMode } from '../helpers/session-modes.js';

let gw: TestGateway;
afterEach(async () => gw?.close());

const EVIL = 'https://evil.example';

async function sessionCount(cookie: string): Promise<number> {
  const res = await gw.inject({ method: 'GET', url: '/auth/sessions', headers: { ...SAME_ORIGIN, cookie } });
  return (res.json().sessions as unknown[]).length;
}

async function alive(cookie: string): Promise<boolean> {
  return (await gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } })).statusCode === 200;
}

async function csrfToken(cookie: string): Promise<string> {
  return (await gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } })).json().csrfToken;
}

function expectCsrfRejected(res: { statusCode: number; json(): { error: string } }) {
  expect(res.statusCode).toBe(403);
  expect(res.json().error).toBe('csrf_rejected');
}

// Every attack here rides on a session cookie (or tries to make one): both session modes.
describe.each(SESSION_MODES)('session mode %s', (mode) => {
  describe('CSRF: unsafe methods need proof of same-origin intent', () => {
    it('a cross-site form POST to logout (urlencoded, multipart, text/plain) changes nothing', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      const forms = [
        { 'content-type': 'application/x-www-form-urlencoded', payload: 'a=1' },
        { 'content-type': 'multipart/form-data; boundary=x', payload: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n' },
        { 'content-type': 'text/plain', payload: 'a=1' },
      ];
      for (const form of forms) {
        // What a modern browser sends for an auto-submitting cross-site form (were the cookie sent at all).
        const res = await gw.inject({
          method: 'POST',
          url: '/auth/logout',
          headers: { cookie, origin: EVIL, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'content-type': form['content-type'] },
          payload: form.payload,
        });
        expectCsrfRejected(res);
        expect(setCookies(res)).toEqual([]);
      }
      expect(await alive(cookie)).toBe(true);
    });

    it('refuses an old browser without Fetch Metadata when Origin is foreign, even with the header', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      for (const origin of [EVIL, 'null', 'https://gatehouse.test.evil.example', 'http://gatehouse.test', `${ORIGIN}:444`]) {
        const res = await gw.inject({ method: 'DELETE', url: '/auth/sessions', headers: { cookie, origin, 'x-csrf': '1' } });
        expectCsrfRejected(res);
      }
      expect(await alive(cookie)).toBe(true);
    });

    it('refuses same-site and cross-site Sec-Fetch-Site even with a correct Origin and header', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      await login(gw); // a second session to be "revoked"
      for (const site of ['cross-site', 'same-site', 'none']) {
        const res = await gw.inject({ method: 'DELETE', url: '/auth/sessions', headers: { cookie, origin: ORIGIN, 'sec-fetch-site': site, 'x-csrf': '1' } });
        expectCsrfRejected(res);
      }
      expect(await sessionCount(cookie)).toBe(2);
    });

    it('refuses a same-origin fetch without the X-CSRF header or with a wrong value', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      for (const value of [undefined, '0', 'true', '']) {
        const headers: Record<string, string> = { cookie, origin: ORIGIN, 'sec-fetch-site': 'same-origin' };
        if (value !== undefined) headers['x-csrf'] = value;
        expectCsrfRejected(await gw.inject({ method: 'POST', url: '/auth/logout', headers }));
      }
      expect(await alive(cookie)).toBe(true);
    });

    it('refuses every unsafe method, on /auth, /api and protected paths alike', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
        for (const url of ['/auth/logout', '/auth/sessions', '/api/anything', '/files/report.txt']) {
          const res = await gw.inject({ method, url, headers: { cookie, origin: EVIL } });
          expect(res.statusCode, `${method} ${url}`).toBe(403);
        }
      }
      expect(await alive(cookie)).toBe(true);
    });

    it('login CSRF: a cross-site POST to /auth/login creates no session', async () => {
      gw = await testGateway(withMode(mode));
      const attempts = [
        { origin: EVIL, 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded', payload: `username=alice&password=${encodeURIComponent(PASSWORD)}` },
        { origin: EVIL, 'content-type': 'application/json', payload: JSON.stringify({ username: 'alice', password: PASSWORD }) },
        // Even a same-origin-looking request without the custom header (e.g. a plain HTML form).
        { origin: ORIGIN, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded', payload: `username=alice&password=${encodeURIComponent(PASSWORD)}` },
      ];
      for (const { payload, ...headers } of attempts) {
        const res = await gw.inject({ method: 'POST', url: '/auth/login', headers, payload });
        expectCsrfRejected(res);
        expect(setCookies(res)).toEqual([]);
      }
      const alice = await gw.gatehouse.local!.accounts.findByUsername('alice');
      expect(await gw.gatehouse.store.listByUser(alice!.id)).toEqual([]);
    });
  });

  describe('CSRF: the anti-forgery token for plain HTML forms', () => {
    it('accepts the session’s own token in a same-origin form post', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      const token = await csrfToken(cookie);
      const res = await gw.inject({
        method: 'POST',
        url: '/auth/logout',
        headers: { cookie, origin: ORIGIN, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${encodeURIComponent(token)}`,
      });
      expect(res.statusCode).toBe(200);
      expect(await alive(cookie)).toBe(false);
    });

    it('accepts it in the X-CSRF-Token header too', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      const token = await csrfToken(cookie);
      const res = await gw.inject({ method: 'POST', url: '/auth/logout', headers: { cookie, 'x-csrf-token': token } });
      expect(res.statusCode).toBe(200);
    });

    it('refuses another session’s token, a tampered token, a token of an unknown key, and none', async () => {
      gw = await testGateway(withMode(mode));
      const victim = await login(gw, 'alice');
      const attacker = await login(gw, 'bob');
      const attackerToken = await csrfToken(attacker);
      const victimToken = await csrfToken(victim);
      const [kid, mac] = victimToken.split('.') as [string, string];
      const tampered = `${kid}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`;
      for (const token of [attackerToken, tampered, `zzzzzzzz.${mac}`, mac, '', 'x'.repeat(500)]) {
        const res = await gw.inject({
          method: 'POST',
          url: '/auth/logout',
          headers: { cookie: victim, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
          payload: `_csrf=${encodeURIComponent(token)}`,
        });
        expectCsrfRejected(res);
        const viaHeader = await gw.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: victim, 'x-csrf-token': token } });
        expectCsrfRejected(viaHeader);
      }
      expect(await alive(victim)).toBe(true);
    });

    it('a token stops working once its session is gone', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      const token = await csrfToken(cookie);
      await gw.inject({ method: 'POST', url: '/auth/logout', headers: { ...SAME_ORIGIN, cookie } });
      const res = await gw.inject({ method: 'POST', url: '/auth/logout', headers: { cookie, 'x-csrf-token': token } });
      expectCsrfRejected(res);
    });
  });

  describe('cross-site reads of cookie-protected resources', () => {
    it('refuses a cross-site fetch of /auth/session and of a protected file, allows a cross-site navigation', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      for (const url of ['/auth/session', '/auth/sessions', '/files/report.txt']) {
        for (const [site, mode, dest] of [['cross-site', 'no-cors', 'image'], ['cross-site', 'cors', 'empty'], ['same-site', 'no-cors', 'image']]) {
          const res = await gw.inject({ method: 'GET', url, headers: { cookie, 'sec-fetch-site': site as string, 'sec-fetch-mode': mode as string, 'sec-fetch-dest': dest as string } });
          expect(res.statusCode, `${url} ${site} ${mode}`).toBe(403);
          expect(res.json().error).toBe('cross_site_rejected');
          expect(res.body).not.toContain('PROTECTED-REPORT');
          expect(res.body).not.toContain('alice');
        }
      }
      const nav = await gw.inject({ method: 'GET', url: '/files/report.txt', headers: { cookie, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
      expect(nav.statusCode).toBe(200);
    });
  });
});
