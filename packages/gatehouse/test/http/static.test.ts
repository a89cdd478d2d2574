import { afterEach, describe, expect, it } from 'vitest';
import { login, SAME_ORIGIN, testGateway, type TestGateway } from '../helpers/gateway.js';
import { SESSION_MODES, withMode } from '../helpers/session-modes.js';

let gw: TestGateway;
afterEach(async () => gw?.close());

const NAV = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none', 'sec-fetch-dest': 'document' };
const LEAKS = ['DOTFILE-LEAK', 'DOTDIR-LEAK', 'OUTSIDE-ROOT-LEAK', 'PROTECTED-REPORT', 'ADMIN-ONLY'];

describe('SPA hosting', () => {
  it('serves index.html at / and for client-side routes, with no-cache', async () => {
    gw = await testGateway();
    for (const url of ['/', '/dashboard', '/users/42/settings', '/login?returnTo=%2Ffiles']) {
      const res = await gw.inject({ method: 'GET', url, headers: NAV });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toContain('SPA-INDEX');
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves hashed assets as immutable and other files with revalidation', async () => {
    gw = await testGateway();
    const hashed = await gw.inject({ method: 'GET', url: '/assets/app-3f2a9c1bd2.js' });
    expect(hashed.statusCode).toBe(200);
    expect(hashed.body).toContain('APP-BUNDLE');
    expect(hashed.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const plain = await gw.inject({ method: 'GET', url: '/app.css' });
    expect(plain.headers['cache-control']).toBe('no-cache');
  });

  it('answers a missing asset with a real 404, not index.html', async () => {
    gw = await testGateway();
    for (const url of ['/missing.js', '/assets/missing-3f2a9c1bd2.js', '/favicon.ico']) {
      const res = await gw.inject({ method: 'GET', url, headers: { accept: '*/*', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' } });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error).toBe('not_found');
      expect(res.body).not.toContain('SPA-INDEX');
    }
    // A fetch (not a navigation) to an unknown route is a 404 too.
    const api = await gw.inject({ method: 'GET', url: '/api/unknown', headers: { ...SAME_ORIGIN, accept: 'application/json' } });
    expect(api.statusCode).toBe(404);
    const auth = await gw.inject({ method: 'GET', url: '/auth/unknown', headers: NAV });
    expect(auth.statusCode).toBe(404);
    expect(auth.body).not.toContain('SPA-INDEX');
  });

  it('never lists a directory and never serves dotfiles', async () => {
    gw = await testGateway();
    for (const url of ['/assets/', '/assets', '/nested/', '/.env', '/.git/config', '/nested/../.env', '/%2eenv', '/.git/']) {
      const res = await gw.inject({ method: 'GET', url, headers: { accept: '*/*' } });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, url).toBeLessThan(500);
      for (const leak of LEAKS) expect(res.body, url).not.toContain(leak);
      expect(res.body).not.toContain('app-3f2a9c1bd2.js');
    }
  });

  it('refuses path traversal by any encoding, against the SPA and the static roots', async () => {
    gw = await testGateway();
    const cookie = await login(gw);
    const tricks = [
      '/../outside-secret.txt',
      '/..%2foutside-secret.txt',
      '/%2e%2e/outside-secret.txt',
      '/%2e%2e%2foutside-secret.txt',
      '/%252e%252e%252foutside-secret.txt',
      '/..%5coutside-secret.txt',
      '/..\\outside-secret.txt',
      '/assets/..%2f..%2foutside-secret.txt',
      '/files/../outside-secret.txt',
      '/files/..%2foutside-secret.txt',
      '/files/%2e%2e/outside-secret.txt',
      '/files/..%2f..%2fadmin/payroll.txt',
      '/files/%2e%2e%2fadmin%2fpayroll.txt',
      '/files/..%5cadmin%5cpayroll.txt',
      '/files/%c0%ae%c0%ae/outside-secret.txt',
      '/files/report.txt%00.png',
      '/files//../admin/payroll.txt',
    ];
    for (const url of tricks) {
      const res = await gw.inject({ method: 'GET', url, headers: { cookie, accept: '*/*' } });
      expect(res.statusCode, url).not.toBe(200);
      expect(res.statusCode, url).toBeLessThan(500);
      for (const leak of ['OUTSIDE-ROOT-LEAK', 'ADMIN-ONLY']) expect(res.body, url).not.toContain(leak);
    }
  });
});

// Access to protected files is decided by the session cookie (and the roles it carries in cookie
// mode): both session modes. The SPA tests above attack paths, not the session: once.
describe.each(SESSION_MODES)('protected static paths (session mode %s)', (mode) => {
  it('serve files only with a session, private and uncached', async () => {
    gw = await testGateway(withMode(mode));
    const cookie = await login(gw);
    const res = await gw.inject({ method: 'GET', url: '/files/report.txt', headers: { cookie, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('PROTECTED-REPORT');
    expect(res.headers['cache-control']).toBe('private, no-store');
    // Uploaded HTML/SVG opened directly runs in an opaque origin, not the app's.
    expect(res.headers['content-security-policy']).toMatch(/^sandbox; default-src 'none';/);
  });

  it('answer a fetch/XHR/img without a session with 401 JSON', async () => {
    gw = await testGateway(withMode(mode));
    for (const headers of [{ ...SAME_ORIGIN }, { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' }, {}]) {
      const res = await gw.inject({ method: 'GET', url: '/files/report.txt', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('unauthenticated');
      expect(res.body).not.toContain('PROTECTED-REPORT');
    }
    // Without a session a missing file looks like an existing one: nothing to probe.
    expect((await gw.inject({ method: 'GET', url: '/files/nope.txt' })).statusCode).toBe(401);
  });

  it('redirect a navigation without a session to the login page with a same-origin returnTo', async () => {
    gw = await testGateway(withMode(mode));
    const res = await gw.inject({ method: 'GET', url: '/files/report.txt?x=1', headers: NAV });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/?returnTo=%2Ffiles%2Freport.txt%3Fx%3D1');
    expect(res.body).not.toContain('PROTECTED-REPORT');
    // Browsers without Fetch Metadata: Accept tells a navigation.
    const old = await gw.inject({ method: 'GET', url: '/files/report.txt', headers: { accept: 'text/html' } });
    expect(old.statusCode).toBe(302);
  });

  it('enforce roles: 403 for a user without the role, 200 with it', async () => {
    gw = await testGateway(withMode(mode));
    const alice = await login(gw, 'alice');
    const bob = await login(gw, 'bob');
    const denied = await gw.inject({ method: 'GET', url: '/admin/payroll.txt', headers: { cookie: alice } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error).toBe('forbidden');
    expect(denied.body).not.toContain('ADMIN-ONLY');
    const allowed = await gw.inject({ method: 'GET', url: '/admin/payroll.txt', headers: { cookie: bob } });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.body).toContain('ADMIN-ONLY');
  });

  it('stop serving after logout and after the idle timeout', async () => {
    gw = await testGateway(withMode(mode));
    const cookie = await login(gw);
    expect((await gw.inject({ method: 'GET', url: '/files/report.txt', headers: { cookie } })).statusCode).toBe(200);
    gw.clock.advance(31 * 60_000);
    expect((await gw.inject({ method: 'GET', url: '/files/report.txt', headers: { cookie } })).statusCode).toBe(401);
    const again = await login(gw);
    await gw.inject({ method: 'POST', url: '/auth/logout', headers: { ...SAME_ORIGIN, cookie: again } });
    expect((await gw.inject({ method: 'GET', url: '/files/report.txt', headers: { cookie: again } })).statusCode).toBe(401);
  });
});
