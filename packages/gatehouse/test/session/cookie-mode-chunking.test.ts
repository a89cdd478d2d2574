/**
 * Cookie mode, a session larger than one cookie: split into `__Host-gatehouse=chunks-<n>` and parts
 * `__Host-gatehouse-c1…n`, each name + value within 4096 bytes (RFC 6265bis §5.7, what browsers
 * keep) and each with the session cookie's attributes; stale parts expired when the session
 * shrinks; and a session over `session.cookie.maxBytes` refused at sign-in (500
 * `session_too_large`), never stored, never written and silently dropped by the browser, audited.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { login, PASSWORD, SAME_ORIGIN, setCookies, type TestGateway } from '../helpers/gateway.js';
import {
  BASE,
  cookieGateway,
  type CookieGatewayOptions,
  expectCleared,
  expectRefused,
  expectSessionAttributes,
  get,
  jarAfter,
  manyRoles,
  pairs,
  payloadOf,
  REVALIDATE,
  written,
} from './cookie-mode-fixture.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

/** A gateway with a logger captured in memory (audit events are pino lines). */
async function gatewayWithLogs(options: CookieGatewayOptions = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
  gw = await cookieGateway({ ...options, deps: { logger, ...options.deps } });
  return { gw, audit: (event: string) => lines.filter((l) => l.audit === true && l.event === event) };
}

function signIn(g: TestGateway, username: string) {
  return g.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username, password: PASSWORD } });
}

/** The Set-Cookie headers of the session (base and parts), by name. */
function sessionHeaders(headers: string[]): Map<string, string> {
  return new Map(headers.filter((h) => /^__Host-gatehouse(-c[1-9])?=/.test(h)).map((h) => [h.slice(0, h.indexOf('=')), h]));
}

describe('a session over 4096 bytes', () => {
  it('is written as chunks-2 and two parts, each name + value ≤ 4096 bytes, each with every attribute; the parts rejoin to the sealed session', async () => {
    gw = await cookieGateway();
    await gw.gatehouse.local!.accounts.add({ username: 'carol', password: PASSWORD, roles: manyRoles(60) });
    const res = await signIn(gw, 'carol');
    expect(res.statusCode).toBe(200);
    const headers = sessionHeaders(setCookies(res));
    expect([...headers.keys()]).toEqual([BASE, `${BASE}-c1`, `${BASE}-c2`]);
    expect(headers.get(BASE)).toMatch(/^__Host-gatehouse=chunks-2;/);
    const maxAges = new Set<string | undefined>();
    for (const header of headers.values()) {
      const [pair] = header.split(';', 1) as [string];
      // RFC 6265bis §5.7: the browser drops a cookie whose name + value pass 4096 bytes.
      expect(Buffer.byteLength(pair.replace('=', ''))).toBeLessThanOrEqual(4096);
      expectSessionAttributes(header);
      maxAges.add(/Max-Age=(\d+)/.exec(header)?.[1]);
    }
    // One lifetime for every part: the absolute timeout (persistent cookie, 12 h).
    expect([...maxAges]).toEqual(['43200']);
    const cookie = jarAfter('', res);
    const payload = await payloadOf(gw, cookie);
    expect(payload?.user.roles).toEqual(manyRoles(60));
  });

  it('works when the browser sends the parts back, and stays split (with attributes) when re-issued on a slide', async () => {
    gw = await cookieGateway();
    await gw.gatehouse.local!.accounts.add({ username: 'carol', password: PASSWORD, roles: manyRoles(60) });
    const cookie = await login(gw, 'carol');
    const res = await get(gw, cookie);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.roles).toEqual(manyRoles(60));
    gw.clock.advance(61_000);
    const slid = await get(gw, cookie);
    expect(slid.statusCode).toBe(200);
    const headers = sessionHeaders(written(slid));
    expect([...headers.keys()]).toEqual([BASE, `${BASE}-c1`, `${BASE}-c2`]);
    for (const header of headers.values()) expectSessionAttributes(header);
    const next = jarAfter(cookie, slid);
    expect(next).not.toBe(cookie);
    expect((await get(gw, next)).json().user.roles).toEqual(manyRoles(60));
  });

  it('a 12288-byte ceiling carries three parts', async () => {
    gw = await cookieGateway({ session: { cookie: { maxBytes: 12288 } } });
    await gw.gatehouse.local!.accounts.add({ username: 'erin', password: PASSWORD, roles: manyRoles(110) });
    const res = await signIn(gw, 'erin');
    expect(res.statusCode).toBe(200);
    expect([...sessionHeaders(setCookies(res)).keys()]).toEqual([BASE, `${BASE}-c1`, `${BASE}-c2`, `${BASE}-c3`]);
    expect((await get(gw, jarAfter('', res))).json().user.roles).toEqual(manyRoles(110));
  });
});

describe('ending a split session', () => {
  it('logout expires the base and both parts in one answer; the captured parts replayed are refused with all three expired again', async () => {
    gw = await cookieGateway();
    await gw.gatehouse.local!.accounts.add({ username: 'carol', password: PASSWORD, roles: manyRoles(60) });
    const cookie = await login(gw, 'carol');
    const res = await gw.inject({ method: 'POST', url: '/auth/logout', headers: { ...SAME_ORIGIN, cookie } });
    expect(res.statusCode).toBe(200);
    const headers = sessionHeaders(setCookies(res));
    expect([...headers.keys()].sort()).toEqual([BASE, `${BASE}-c1`, `${BASE}-c2`]);
    for (const header of headers.values()) expectCleared(header);
    expect(jarAfter(cookie, res)).toBe('');
    expectRefused(await get(gw, cookie), [1, 2]);
  });
});

describe('a session that changes size', () => {
  it('shrinking to one cookie (roles cut, seen at revalidation) expires the stale parts in the same answer', async () => {
    gw = await cookieGateway();
    const accounts = gw.gatehouse.local!.accounts;
    await accounts.add({ username: 'carol', password: PASSWORD, roles: manyRoles(60) });
    const cookie = await login(gw, 'carol');
    await accounts.setRoles('carol', ['user']);
    gw.clock.advance(REVALIDATE);
    const res = await get(gw, cookie);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.roles).toEqual(['user']);
    const headers = sessionHeaders(setCookies(res));
    expect([...headers.keys()].sort()).toEqual([BASE, `${BASE}-c1`, `${BASE}-c2`]);
    // The base now carries the whole session; both parts are expired with the same attributes.
    expect(headers.get(BASE)).toMatch(/^__Host-gatehouse=eyJ[^;]+;/);
    expectSessionAttributes(headers.get(BASE) as string);
    expectCleared(headers.get(`${BASE}-c1`) as string);
    expectCleared(headers.get(`${BASE}-c2`) as string);
    const next = jarAfter(cookie, res);
    expect(pairs(next).map(([name]) => name)).toEqual([BASE]);
    expect((await get(gw, next)).json().user.roles).toEqual(['user']);
  });

  it('growing past 4096 bytes (roles added, seen at revalidation) re-issues it split', async () => {
    gw = await cookieGateway();
    const cookie = await login(gw);
    expect(pairs(cookie)).toHaveLength(1);
    await gw.gatehouse.local!.accounts.setRoles('alice', manyRoles(60));
    gw.clock.advance(REVALIDATE);
    const res = await get(gw, cookie);
    expect(res.statusCode).toBe(200);
    expect([...sessionHeaders(written(res)).keys()]).toEqual([BASE, `${BASE}-c1`, `${BASE}-c2`]);
    const next = jarAfter(cookie, res);
    expect((await get(gw, next)).json().user.roles).toEqual(manyRoles(60));
  });

  it('growing past the ceiling after sign-in: the request already sees the current roles (admin gone), the browser keeps its cookie, the event is audited', async () => {
    const { gw: g, audit } = await gatewayWithLogs();
    const cookie = await login(g, 'bob');
    expect((await get(g, cookie, '/admin/payroll.txt')).statusCode).toBe(200);
    const bob = (await get(g, cookie)).json().user;
    await g.gatehouse.local!.accounts.setRoles('bob', manyRoles(100));
    g.clock.advance(REVALIDATE);
    const res = await get(g, cookie);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.roles).toEqual(manyRoles(100));
    // A cookie the browser would drop is never written: no session Set-Cookie at all.
    expect(sessionHeaders(setCookies(res)).size).toBe(0);
    expect((await get(g, cookie, '/admin/payroll.txt')).statusCode).toBe(403);
    const events = audit('session_cookie_too_large');
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ userId: bob.id, provider: 'local' });
    expect(events[0]?.bytes).toBeGreaterThan(8192);
  });
});

describe('over session.cookie.maxBytes at sign-in', () => {
  it('500 session_too_large, no cookie written, nothing stored, audited as session_cookie_too_large (and no login event)', async () => {
    const { gw: g, audit } = await gatewayWithLogs();
    const account = await g.gatehouse.local!.accounts.add({ username: 'frank', password: PASSWORD, roles: manyRoles(100) });
    const res = await signIn(g, 'frank');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      error: 'session_too_large',
      message: 'The session is too large for its cookie (session.cookie.maxBytes). The operator must map fewer claims or roles.',
    });
    expect(setCookies(res).filter((h) => h.startsWith(BASE))).toEqual([]);
    expect(await g.gatehouse.store.listByUser(account.id)).toEqual([]);
    const events = audit('session_cookie_too_large');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ userId: account.id, provider: 'local' });
    expect(events[0]?.bytes).toBeGreaterThan(8192);
    expect(audit('login')).toEqual([]);
    // The refusal says nothing about the user's claims.
    expect(res.body).not.toContain('group-');
  });

  it('the configured ceiling is the one applied: 4096 refuses the two-part session that 8192 accepts', async () => {
    const { gw: g, audit } = await gatewayWithLogs({ session: { cookie: { maxBytes: 4096 } } });
    const account = await g.gatehouse.local!.accounts.add({ username: 'carol', password: PASSWORD, roles: manyRoles(60) });
    const refused = await signIn(g, 'carol');
    expect(refused.statusCode).toBe(500);
    expect(refused.json().error).toBe('session_too_large');
    expect(await g.gatehouse.store.listByUser(account.id)).toEqual([]);
    expect(audit('session_cookie_too_large')).toHaveLength(1);
    // A session that fits one cookie is unaffected by the lower ceiling.
    expect((await get(g, await login(g))).statusCode).toBe(200);
  });
});
