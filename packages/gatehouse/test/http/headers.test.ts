import { afterEach, describe, expect, it } from 'vitest';
import { createSessionStore } from '../../src/backends/stores/index.js';
import { StoreUnavailableError } from '../../src/errors.js';
import type { SessionStore } from '../../src/session/model.js';
import { login, SAME_ORIGIN, testClock, testGateway, type TestGateway } from '../helpers/gateway.js';
import { SESSION_MODES, withMode } from '../helpers/session-modes.js';

let gw: TestGateway;
afterEach(async () => gw?.close());

describe('security headers', () => {
  it('are on every response: SPA, assets, auth, errors, protected files', async () => {
    gw = await testGateway();
    for (const url of ['/', '/app.css', '/auth/session', '/missing.js', '/files/report.txt', '/healthz']) {
      const res = await gw.inject({ method: 'GET', url });
      expect(res.headers['strict-transport-security'], url).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['referrer-policy'], url).toBe('strict-origin-when-cross-origin');
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(res.headers['content-security-policy'], url).toContain("frame-ancestors 'none'");
      expect(res.headers['content-security-policy'], url).toContain("script-src 'self'");
    }
  });

  it('Cache-Control: no-store on everything under /auth, errors included', async () => {
    gw = await testGateway();
    const cookie = await login(gw);
    for (const [method, url] of [['GET', '/auth/session'], ['GET', '/auth/sessions'], ['GET', '/auth/nope'], ['POST', '/auth/logout']] as const) {
      const withCookie = await gw.inject({ method, url, headers: { ...SAME_ORIGIN, cookie } });
      const without = await gw.inject({ method, url, headers: { origin: 'https://evil.example' } });
      expect(withCookie.headers['cache-control'], url).toBe('no-store');
      expect(without.headers['cache-control'], url).toBe('no-store');
    }
  });

  it('CSP is configurable and can be turned off; HSTS only for an https public origin', async () => {
    gw = await testGateway({ headers: { contentSecurityPolicy: "default-src 'none'" } });
    expect((await gw.inject({ method: 'GET', url: '/' })).headers['content-security-policy']).toBe("default-src 'none'");
    await gw.close();
    gw = await testGateway({ publicOrigin: 'http://localhost:8080', headers: { contentSecurityPolicy: false } });
    const res = await gw.inject({ method: 'GET', url: '/' });
    expect(res.headers['content-security-policy']).toBeUndefined();
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('malformed URLs', () => {
  it('get our JSON refusal and the security headers, not the framework’s body', async () => {
    gw = await testGateway();
    for (const url of ['/%', '/auth/%zz', '/files/%E0%A4%A']) {
      const res = await gw.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toEqual({ error: 'invalid_request', message: expect.any(String) });
      expect(res.body).not.toContain('FST_');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
  });
});

// Cross-origin reads of a signed-in session: both session modes.
describe.each(SESSION_MODES)('CORS (session mode %s)', (mode) => {
  it('is off by default: no Access-Control-* header for any origin, preflight included', async () => {
    gw = await testGateway(withMode(mode));
    const cookie = await login(gw);
    for (const origin of ['https://evil.example', 'https://gatehouse.test', 'null']) {
      const get = await gw.inject({ method: 'GET', url: '/auth/session', headers: { origin, cookie } });
      const preflight = await gw.inject({
        method: 'OPTIONS',
        url: '/auth/logout',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf' },
      });
      for (const res of [get, preflight]) {
        expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
      }
    }
  });

  it('in development, answers only the exact origins of the allowlist', async () => {
    gw = await testGateway(withMode(mode, { cors: { allowOrigins: ['http://localhost:5173'] } }));
    const ok = await gw.inject({ method: 'OPTIONS', url: '/auth/logout', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    const other = await gw.inject({ method: 'OPTIONS', url: '/auth/logout', headers: { origin: 'http://localhost:5174', 'access-control-request-method': 'POST' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers.vary).toBe('Origin');
  });

  it('in development, the allowlisted origin may read the session and post with the header — and only it', async () => {
    gw = await testGateway(withMode(mode, { cors: { allowOrigins: ['http://localhost:5173'] } }));
    const cookie = await login(gw);
    const dev = { origin: 'http://localhost:5173', 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors', cookie };
    expect((await gw.inject({ method: 'GET', url: '/auth/session', headers: dev })).statusCode).toBe(200);
    // Still needs the custom header.
    expect((await gw.inject({ method: 'DELETE', url: '/auth/sessions', headers: dev })).statusCode).toBe(403);
    expect((await gw.inject({ method: 'DELETE', url: '/auth/sessions', headers: { ...dev, 'x-csrf': '1' } })).statusCode).toBe(200);
    const other = { ...dev, origin: 'http://localhost:5174', 'x-csrf': '1' };
    expect((await gw.inject({ method: 'GET', url: '/auth/session', headers: other })).statusCode).toBe(403);
    expect((await gw.inject({ method: 'POST', url: '/auth/logout', headers: other })).statusCode).toBe(403);
  });

  it('without an allowlist, a dev-server origin is cross-site like any other', async () => {
    gw = await testGateway(withMode(mode));
    const cookie = await login(gw);
    const res = await gw.inject({ method: 'GET', url: '/auth/session', headers: { origin: 'http://localhost:5173', 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors', cookie } });
    expect(res.statusCode).toBe(403);
  });
});

describe.each(SESSION_MODES)('fail closed (session mode %s)', (mode) => {
  it('a store outage is a 503 store_unavailable for session routes and protected files, never anonymous', async () => {
    const real = createSessionStore('memory', { clock: testClock() });
    let down = false;
    const guarded = <K extends keyof SessionStore>(name: K) =>
      (async (...args: unknown[]) => {
        if (down) throw new StoreUnavailableError(new Error('connection refused'));
        return (real[name] as (...a: unknown[]) => unknown)(...args);
      }) as SessionStore[K];
    const flaky: SessionStore = {
      get: guarded('get'), set: guarded('set'), update: guarded('update'), touch: guarded('touch'), delete: guarded('delete'),
      deleteByUser: guarded('deleteByUser'), listByUser: guarded('listByUser'), ping: guarded('ping'), close: () => real.close(),
    };
    gw = await testGateway(withMode(mode), { store: flaky });
    const cookie = await login(gw);
    down = true;
    const expectOutage = (res: { statusCode: number; body: string; json(): { error: string } }, url: string) => {
      expect(res.statusCode, url).toBe(503);
      expect(res.json().error, url).toBe('store_unavailable');
      expect(res.body).not.toContain('PROTECTED-REPORT');
    };
    const logoutKeepsCookie = async () => {
      // Logout during the outage keeps the cookie: the session is not ended, so the browser can retry.
      const logout = await gw.inject({ method: 'POST', url: '/auth/logout', headers: { ...SAME_ORIGIN, cookie } });
      expect(logout.statusCode).toBe(503);
      expect(logout.headers['retry-after']).toBe('2');
      expect(String(logout.headers['set-cookie'] ?? '')).not.toMatch(/__Host-gatehouse=;/);
    };
    if (mode === 'server') {
      for (const url of ['/auth/session', '/auth/sessions', '/files/report.txt', '/readyz']) {
        expectOutage(await gw.inject({ method: 'GET', url, headers: { cookie } }), url);
      }
    } else {
      // The trade-off of cookie mode (docs: session.mode): within revalidateEvery a request reads no
      // session record, so the cookie alone serves; what needs the store still fails closed.
      for (const url of ['/auth/session', '/files/report.txt']) {
        expect((await gw.inject({ method: 'GET', url, headers: { cookie } })).statusCode, url).toBe(200);
      }
      for (const url of ['/auth/sessions', '/readyz']) expectOutage(await gw.inject({ method: 'GET', url, headers: { cookie } }), url);
      // The session resolves without the store here; its revocation must not half-happen.
      await logoutKeepsCookie();
      // Past revalidateEvery the cookie must be checked against the registry: no store, no session.
      gw.clock.advance(5 * 60_000);
      for (const url of ['/auth/session', '/files/report.txt']) {
        expectOutage(await gw.inject({ method: 'GET', url, headers: { cookie } }), url);
      }
    }
    await logoutKeepsCookie();
    const loginDuringOutage = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: 'correct horse battery staple' } });
    expect(loginDuringOutage.statusCode).toBe(503);
    // The public SPA keeps being served, and the same cookie works when the store returns.
    expect((await gw.inject({ method: 'GET', url: '/' })).statusCode).toBe(200);
    down = false;
    expect((await gw.inject({ method: 'GET', url: '/auth/session', headers: { cookie } })).statusCode).toBe(200);
    expect((await gw.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});
