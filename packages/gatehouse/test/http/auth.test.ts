import { afterEach, describe, expect, it } from 'vitest';
import { unseal } from '../../src/keys/seal.js';
import { sessionIdFromToken } from '../../src/session/token.js';
import { login, PASSWORD, SAME_ORIGIN, sessionCookieFrom, setCookies, testGateway, type TestGateway } from '../helpers/gateway.js';
import { expectSessionValue, follow, SESSION_MODES, sealedForgeries, sessionValueOf, withMode } from '../helpers/session-modes.js';

let gw: TestGateway;
afterEach(async () => gw?.close());

const MIN = 60_000;
const HOUR = 60 * MIN;

async function getSession(cookie?: string) {
  return gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, ...(cookie ? { cookie } : {}) } });
}

async function storedSessions(userId: string) {
  return gw.gatehouse.store.listByUser(userId);
}

// These attack the password check and the login body, not the session cookie: the same code in
// both session modes, so they run once (the session-cookie half of sign-in is below, in both modes).
describe('POST /auth/login', () => {
  it('answers an unknown user exactly like a wrong password (no enumeration)', async () => {
    gw = await testGateway();
    const wrong = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: 'not the password' } });
    const unknown = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'mallory', password: 'not the password' } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.body).toBe(wrong.body);
    expect(wrong.json()).toEqual({ error: 'invalid_credentials', message: expect.any(String) });
    const strip = (h: Record<string, unknown>) => Object.keys(h).filter((k) => !['date', 'request-id'].includes(k)).sort();
    expect(strip(unknown.headers)).toEqual(strip(wrong.headers));
    expect(setCookies(wrong)).toEqual([]);
    expect(setCookies(unknown)).toEqual([]);
  });

  it('locks an account after repeated failures, for known and unknown users alike, and never for good', async () => {
    gw = await testGateway({ local: { enabled: true, store: 'memory', throttle: { accountFailures: 3, lockout: '1m', maxLockout: '4m' } } });
    for (const username of ['alice', 'nobody']) {
      for (let i = 0; i < 3; i++) {
        const res = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username, password: `guess-${i}` } });
        expect(res.statusCode).toBe(401);
      }
      const locked = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username, password: PASSWORD } });
      expect(locked.statusCode).toBe(429);
      expect(locked.json().error).toBe('login_throttled');
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      expect(setCookies(locked)).toEqual([]);
    }
    // Even the right password is refused while locked, so brute force learns nothing.
    expect((await storedSessions((await gw.gatehouse.local!.accounts.findByUsername('alice'))!.id)).length).toBe(0);
    gw.clock.advance(61_000);
    const after = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: PASSWORD } });
    expect(after.statusCode).toBe(200);
  });

  it('throttles one client address guessing across many usernames', async () => {
    gw = await testGateway({ local: { enabled: true, store: 'memory', throttle: { addressFailures: 4, accountFailures: 100 } } });
    for (let i = 0; i < 4; i++) {
      const res = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: `user${i}`, password: 'x' }, remoteAddress: '203.0.113.7' });
      expect(res.statusCode).toBe(401);
    }
    const blocked = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: PASSWORD }, remoteAddress: '203.0.113.7' });
    expect(blocked.statusCode).toBe(429);
    // Another address is not affected.
    const other = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: PASSWORD }, remoteAddress: '198.51.100.1' });
    expect(other.statusCode).toBe(200);
  });

  it('refuses an oversized password with 413 and an oversized body with 413', async () => {
    gw = await testGateway();
    const long = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: 'a'.repeat(1025) } });
    expect(long.statusCode).toBe(413);
    expect(long.json().error).toBe('payload_too_large');
    const huge = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: 'a'.repeat(20_000) } });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toBe('payload_too_large');
  });

  it('accepts a 64+ character password and does not truncate it', async () => {
    gw = await testGateway();
    const long = `${'x'.repeat(100)}-tail`;
    await gw.gatehouse.local!.accounts.add({ username: 'carol', password: long });
    expect((await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'carol', password: long } })).statusCode).toBe(200);
    const truncated = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'carol', password: long.slice(0, 100) } });
    expect(truncated.statusCode).toBe(401);
  });

  it('answers malformed bodies with a clear 4xx code, never a 500', async () => {
    gw = await testGateway();
    const cases = [
      { payload: '{"username":', type: 'application/json', status: 400, error: 'invalid_json' },
      { payload: '', type: 'application/json', status: 400, error: 'invalid_json' },
      { payload: 'username=alice', type: 'text/plain', status: 415, error: 'unsupported_media_type' },
      { payload: JSON.stringify({ username: 'alice' }), type: 'application/json', status: 400, error: 'invalid_request' },
      { payload: JSON.stringify({ username: ['alice'], password: 1 }), type: 'application/json', status: 400, error: 'invalid_request' },
      { payload: JSON.stringify({ username: 'alice', password: PASSWORD, admin: true }), type: 'application/json', status: 400, error: 'invalid_request' },
    ];
    for (const c of cases) {
      const res = await gw.inject({ method: 'POST', url: '/auth/login', headers: { ...SAME_ORIGIN, 'content-type': c.type }, payload: c.payload });
      expect({ status: res.statusCode, error: res.json().error }).toEqual({ status: c.status, error: c.error });
      expect(setCookies(res)).toEqual([]);
    }
  });

  it('answers 404 when local accounts are disabled', async () => {
    gw = await testGateway({ local: { enabled: false } });
    const res = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: PASSWORD } });
    expect(res.statusCode).toBe(404);
    expect(setCookies(res)).toEqual([]);
  });
});

// Everything below attacks or ends the session cookie: it runs in both session modes.
describe.each(SESSION_MODES)('session mode %s', (mode) => {
  describe('POST /auth/login: the session cookie', () => {
    it('sets a hardened __Host- cookie holding the session value, and the store never holds that value', async () => {
      gw = await testGateway(withMode(mode));
      const res = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: PASSWORD } });
      expect(res.statusCode).toBe(200);
      const [header] = setCookies(res);
      expect(header).toMatch(/^__Host-gatehouse=[^;]+; Max-Age=43200; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
      expect(header).not.toMatch(/Domain=/i);
      const token = sessionValueOf(sessionCookieFrom(res));
      expectSessionValue(mode, token);
      const body = res.json();
      expect(body.user).toEqual({ id: expect.any(String), username: 'alice', name: 'Alice', roles: ['user'] });
      expect(body.csrfToken).toMatch(/^[^.]+\.[A-Za-z0-9_-]{43}$/);
      const [stored] = await storedSessions(body.user.id);
      if (mode === 'server') {
        // The store knows the hash, never the token.
        expect(stored?.id).toBe(sessionIdFromToken(token));
      } else {
        // The registry's id is the one sealed inside (not derived from the cookie, which changes on
        // every re-issue), and the claims travel encrypted, not merely signed: no part reads "alice".
        expect(stored?.id).toBe(body.session.id);
        expect(await unseal(gw.gatehouse.keys, 'session-cookie', token)).toMatchObject({ id: stored?.id, user: { username: 'alice' } });
        for (const part of token.split('.')) expect(Buffer.from(part, 'base64url').toString('latin1')).not.toContain('alice');
      }
      expect(JSON.stringify(stored)).not.toContain(token);
      expect(res.body).not.toContain(token);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('kills the session the browser presented (fixation): a planted or previous id never survives login', async () => {
      gw = await testGateway(withMode(mode));
      const first = await login(gw);
      const second = await login(gw, 'alice', PASSWORD, { cookie: first });
      expect(second).not.toBe(first);
      expect((await getSession(first)).statusCode).toBe(401);
      expect((await getSession(second)).statusCode).toBe(200);
      // A planted, well-formed but unknown value is simply replaced with a fresh one: a random token
      // (server mode), or a session sealed by another deployment under our kid (cookie mode).
      const plantedValue =
        mode === 'server' ? 'A'.repeat(43) : (await sealedForgeries(gw.gatehouse.keys, sessionValueOf(second)))["another deployment's key under our kid"];
      const planted = `__Host-gatehouse=${plantedValue}`;
      const fresh = await login(gw, 'bob', PASSWORD, { cookie: planted });
      expect(fresh).not.toBe(planted);
      expectSessionValue(mode, sessionValueOf(fresh));
      expect((await getSession(planted)).statusCode).toBe(401);
      expect((await getSession(fresh)).json().user.username).toBe('bob');
    });
  });

  describe('GET /auth/session', () => {
    it('401 JSON without a cookie, never a redirect', async () => {
      gw = await testGateway(withMode(mode));
      const res = await gw.inject({ method: 'GET', url: '/auth/session', headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none' } });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'unauthenticated', message: expect.any(String) });
      expect(res.headers.location).toBeUndefined();
    });

    it('forged, random, malformed and oversized cookies get 401, and stale ones are cleared', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      const token = sessionValueOf(cookie);
      // Server mode: another token one character away. Cookie mode: the sealed value with a bit
      // flipped in each part, or re-made under another key, purpose or algorithm (sealedForgeries).
      const forged =
        mode === 'server'
          ? { 'the last character changed': `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` }
          : await sealedForgeries(gw.gatehouse.keys, token);
      const flipped = Object.values(forged)[0] as string;
      const junk = { 'A×43': 'A'.repeat(43), 'not-a-token': 'not-a-token', 'x×5000': 'x'.repeat(5000), empty: '', '%00%ff': '%00%ff', appended: `${token}x`, 'first character cut': token.slice(1) };
      for (const [attack, value] of Object.entries({ ...forged, ...junk })) {
        const res = await getSession(`__Host-gatehouse=${value}`);
        expect(res.statusCode, attack).toBe(401);
        expect(res.json().error, attack).toBe('unauthenticated');
      }
      const stale = await getSession(`__Host-gatehouse=${flipped}`);
      expect(setCookies(stale)[0]).toMatch(/^__Host-gatehouse=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict$/);
      // A cookie of the same name without the prefix (or another name) is not ours.
      expect((await getSession(`gatehouse=${token}`)).statusCode).toBe(401);
      // Bad cookie header syntax does not crash the parser.
      expect((await getSession(`;;==;${'='.repeat(50)}; __Host-gatehouse`)).statusCode).toBe(401);
      // The real one still works.
      expect((await getSession(cookie)).statusCode).toBe(200);
    });

    it('slides the idle timeout, and expires after idleness', async () => {
      gw = await testGateway(withMode(mode));
      const original = await login(gw);
      // The browser keeps whatever the gateway sets (cookie mode re-issues the slid session).
      let cookie = original;
      for (let i = 0; i < 5; i++) {
        gw.clock.advance(20 * MIN);
        const res = await getSession(cookie);
        expect(res.statusCode).toBe(200);
        cookie = follow(cookie, res);
      }
      if (mode === 'server') {
        // The slide is in the store: the cookie never changes.
        expect(cookie).toBe(original);
      } else {
        // The slide is in the re-issued cookie: the sign-in cookie, replayed, has its own idle
        // expiry (30 min after sign-in, long past) and is refused while the session lives on.
        expect(cookie).not.toBe(original);
        expect((await getSession(original)).statusCode).toBe(401);
        expect((await getSession(cookie)).statusCode).toBe(200);
      }
      gw.clock.advance(31 * MIN);
      expect((await getSession(cookie)).statusCode).toBe(401);
    });

    it('never extends the absolute timeout, however active the user is', async () => {
      gw = await testGateway(withMode(mode));
      let cookie = await login(gw);
      for (let elapsed = 0; elapsed < 12 * HOUR - 10 * MIN; elapsed += 10 * MIN) {
        gw.clock.advance(10 * MIN);
        const res = await getSession(cookie);
        expect(res.statusCode, `at ${elapsed / MIN} min`).toBe(200);
        // Cookie mode re-issues the cookie as it slides (server mode never does); its absolute
        // expiry must not move.
        const reissued = setCookies(res).filter((h) => h.startsWith('__Host-gatehouse='));
        expect(reissued.length, `at ${elapsed / MIN} min`).toBe(mode === 'cookie' ? 1 : 0);
        for (const header of reissued) expect(header).toContain(`; Max-Age=${(12 * HOUR - elapsed - 10 * MIN) / 1000};`);
        cookie = follow(cookie, res);
      }
      gw.clock.advance(11 * MIN);
      const res = await getSession(cookie);
      expect(res.statusCode).toBe(401);
    });

    it('reports the session without any server-side data', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      const body = (await getSession(cookie)).json();
      expect(Object.keys(body).sort()).toEqual(['csrfToken', 'provider', 'session', 'user']);
      expect(body.provider).toBe('local');
      expect(Date.parse(body.session.expiresAt) - Date.parse(body.session.createdAt)).toBe(12 * HOUR);
      expect(Date.parse(body.session.idleExpiresAt) - Date.parse(body.session.createdAt)).toBe(30 * MIN);
    });
  });

  describe('POST /auth/logout', () => {
    it('deletes the session server-side and expires the cookie with the same attributes; replay fails', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      const userId = (await getSession(cookie)).json().user.id;
      const res = await gw.inject({ method: 'POST', url: '/auth/logout', headers: { ...SAME_ORIGIN, cookie } });
      expect(res.statusCode).toBe(200);
      expect(setCookies(res)[0]).toMatch(/^__Host-gatehouse=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict$/);
      expect(await storedSessions(userId)).toEqual([]);
      expect((await getSession(cookie)).statusCode).toBe(401);
    });
  });

  describe('sessions (your devices)', () => {
    it('lists my sessions, revokes one, and revokes all others — never someone else’s', async () => {
      gw = await testGateway(withMode(mode));
      const laptop = await login(gw, 'alice', PASSWORD, { 'user-agent': 'Laptop' });
      const phone = await login(gw, 'alice', PASSWORD, { 'user-agent': 'Phone' });
      const tablet = await login(gw, 'alice', PASSWORD, { 'user-agent': 'Tablet' });
      const bob = await login(gw, 'bob');

      const list = await gw.inject({ method: 'GET', url: '/auth/sessions', headers: { ...SAME_ORIGIN, cookie: laptop } });
      expect(list.statusCode).toBe(200);
      const sessions = list.json().sessions as { id: string; current: boolean; userAgent: string }[];
      expect(sessions.map((s) => s.userAgent).sort()).toEqual(['Laptop', 'Phone', 'Tablet']);
      expect(sessions.filter((s) => s.current).map((s) => s.userAgent)).toEqual(['Laptop']);

      // Bob cannot revoke Alice's phone: same answer as an unknown id.
      const phoneId = sessions.find((s) => s.userAgent === 'Phone')!.id;
      const foreign = await gw.inject({ method: 'DELETE', url: `/auth/sessions/${phoneId}`, headers: { ...SAME_ORIGIN, cookie: bob } });
      expect(foreign.statusCode).toBe(404);
      expect(foreign.json().error).toBe('session_not_found');
      expect((await getSession(phone)).statusCode).toBe(200);

      const revoke = await gw.inject({ method: 'DELETE', url: `/auth/sessions/${phoneId}`, headers: { ...SAME_ORIGIN, cookie: laptop } });
      expect(revoke.statusCode).toBe(200);
      expect((await getSession(phone)).statusCode).toBe(401);

      const others = await gw.inject({ method: 'DELETE', url: '/auth/sessions', headers: { ...SAME_ORIGIN, cookie: laptop } });
      expect(others.json()).toEqual({ revoked: 1 });
      expect((await getSession(tablet)).statusCode).toBe(401);
      expect((await getSession(laptop)).statusCode).toBe(200);
      expect((await getSession(bob)).statusCode).toBe(200);
    });

    it('keeps at most session.maxPerUser sessions per user: a sign-in beyond it ends the oldest', async () => {
      gw = await testGateway(withMode(mode, { session: { maxPerUser: 3 } }));
      const bob = await login(gw, 'bob');
      const cookies: string[] = [];
      for (const device of ['One', 'Two', 'Three', 'Four']) {
        gw.clock.advance(1_000);
        cookies.push(await login(gw, 'alice', PASSWORD, { 'user-agent': device }));
      }
      const [first, ...kept] = cookies as [string, ...string[]];
      const ended = await getSession(first);
      expect(ended.statusCode).toBe(401);
      expect(ended.json().error).toBe('unauthenticated');
      for (const cookie of kept) expect((await getSession(cookie)).statusCode).toBe(200);
      const list = await gw.inject({ method: 'GET', url: '/auth/sessions', headers: { ...SAME_ORIGIN, cookie: kept[2] as string } });
      expect((list.json().sessions as { userAgent: string }[]).map((s) => s.userAgent)).toEqual(['Four', 'Three', 'Two']);
      // Another user's sessions do not count, and are not touched.
      expect((await getSession(bob)).statusCode).toBe(200);
    });

    it('refuses a malformed session id', async () => {
      gw = await testGateway(withMode(mode));
      const cookie = await login(gw);
      const res = await gw.inject({ method: 'DELETE', url: '/auth/sessions/..%2f..%2fetc', headers: { ...SAME_ORIGIN, cookie } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toBe('invalid_request');
    });
  });
});
