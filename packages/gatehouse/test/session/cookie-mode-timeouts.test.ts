/**
 * Cookie mode, the two timeouts: the idle expiry lives in the cookie and slides by re-issuing it,
 * at most once per touch interval (a tenth of the idle timeout, at most 60 s), so most answers
 * carry no Set-Cookie; the absolute expiry is fixed at sign-in and no re-issue ever moves it.
 * Idle timeout 30 min, revalidation every 5 min, touch interval 60 s.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { login, type TestGateway } from '../helpers/gateway.js';
import { cookieGateway, expectRefused, get, IDLE, jarAfter, MINUTE, payloadOf, REVALIDATE, written } from './cookie-mode-fixture.js';

const TOUCH = MINUTE;

let gw: TestGateway;
beforeEach(async () => {
  gw = await cookieGateway();
});
afterEach(() => gw.close());

/** One request; the cookie the browser holds after it. */
async function visit(cookie: string): Promise<{ cookie: string; reissued: boolean }> {
  const res = await get(gw, cookie);
  expect(res.statusCode, res.body).toBe(200);
  return { cookie: jarAfter(cookie, res), reissued: written(res).length > 0 };
}

describe('idle timeout', () => {
  it('no request for idleTimeout → 401 and cleared; one millisecond less → 200', async () => {
    const idle = await login(gw);
    const almost = await login(gw);
    gw.clock.advance(IDLE - 1);
    expect((await get(gw, almost)).statusCode).toBe(200);
    gw.clock.advance(1);
    expectRefused(await get(gw, idle));
  });

  it('the idle expiry slides by a re-issue at most once per touch interval: a second request within it gets no Set-Cookie', async () => {
    let cookie = await login(gw);
    gw.clock.advance(TOUCH / 2);
    let step = await visit(cookie);
    expect(step.reissued).toBe(false);
    gw.clock.advance(TOUCH / 2);
    step = await visit(cookie);
    expect(step.reissued).toBe(true);
    cookie = step.cookie;
    const slid = await payloadOf(gw, cookie);
    expect(slid?.i).toBe(gw.clock() + IDLE);
    // Right after the slide, and up to just before the next interval: nothing to write.
    expect((await visit(cookie)).reissued).toBe(false);
    gw.clock.advance(TOUCH - 1);
    expect((await visit(cookie)).reissued).toBe(false);
    gw.clock.advance(1);
    expect((await visit(cookie)).reissued).toBe(true);
  });

  it('an active session outlives the idle timeout many times over (requests every 4 min for 2 h)', async () => {
    let cookie = await login(gw);
    for (let t = 0; t < 120; t += 4) {
      gw.clock.advance(4 * MINUTE);
      cookie = (await visit(cookie)).cookie;
    }
    expect((await get(gw, cookie)).statusCode).toBe(200);
  });

  it('a copy of the cookie left unused for idleTimeout is refused, while the session lives on in the newer cookie', async () => {
    const old = await login(gw);
    let cookie = old;
    for (let t = 0; t < 32; t += 4) {
      gw.clock.advance(4 * MINUTE);
      cookie = (await visit(cookie)).cookie;
    }
    expectRefused(await get(gw, old));
    expect((await get(gw, cookie)).statusCode).toBe(200);
  });

  // The registry record's idle expiry is slid only at revalidations, the cookie's at every touch.
  // A user active up to just before a revalidation falls due, then idle for less than idleTimeout,
  // must still find the registry record alive at the next revalidation (it is kept one interval
  // longer: cookie-sessions.ts registryIdleExpiry).
  it('a session idle for less than idleTimeout is still alive at the next revalidation (active at 4 min, back at 31 min: 27 min idle)', async () => {
    let cookie = await login(gw);
    gw.clock.advance(4 * MINUTE);
    const step = await visit(cookie);
    expect(step.reissued).toBe(true);
    cookie = step.cookie;
    expect((await payloadOf(gw, cookie))?.i).toBe(gw.clock() + IDLE);
    gw.clock.advance(IDLE - 3 * MINUTE);
    expect(gw.clock() - (await payloadOf(gw, cookie))!.s).toBeLessThan(IDLE);
    expect((await get(gw, cookie)).statusCode).toBe(200);
  });

  it('the same return inside the registry window is served (control for the case above: 25 min idle after a request at 4 min)', async () => {
    let cookie = await login(gw);
    gw.clock.advance(4 * MINUTE);
    cookie = (await visit(cookie)).cookie;
    gw.clock.advance(IDLE - 5 * MINUTE);
    expect((await get(gw, cookie)).statusCode).toBe(200);
  });
});

describe('absolute timeout (2 h here)', () => {
  let short: TestGateway;
  beforeEach(async () => {
    short = await cookieGateway({ session: { absoluteTimeout: '2h' } });
  });
  afterEach(() => short.close());

  it('never extended by re-issues: the sealed expiry stays, Max-Age counts down, idle capped at it; 401 at the absolute expiry', async () => {
    let cookie = await login(short);
    const first = await payloadOf(short, cookie);
    const expiresAt = first?.e as number;
    expect(expiresAt).toBe(first?.c! + 2 * 60 * MINUTE);
    let lastMaxAge = Number.POSITIVE_INFINITY;
    let reissues = 0;
    while (short.clock() + 4 * MINUTE < expiresAt) {
      short.clock.advance(4 * MINUTE);
      const res = await get(short, cookie);
      expect(res.statusCode).toBe(200);
      const header = written(res)[0];
      if (header) {
        reissues++;
        const maxAge = Number(/Max-Age=(\d+)/.exec(header)?.[1]);
        expect(maxAge).toBe(Math.floor((expiresAt - short.clock()) / 1000));
        expect(maxAge).toBeLessThan(lastMaxAge);
        lastMaxAge = maxAge;
      }
      cookie = jarAfter(cookie, res);
      const payload = await payloadOf(short, cookie);
      expect(payload?.e).toBe(expiresAt);
      expect(payload?.i).toBeLessThanOrEqual(expiresAt);
    }
    expect(reissues).toBeGreaterThan(20);
    expect(new Date(((await get(short, cookie)).json().session.expiresAt as string)).getTime()).toBe(expiresAt);
    short.clock.advance(expiresAt - 1 - short.clock());
    // The last millisecond: still the session (its re-issue, if any, is not kept: it carries Max-Age=0).
    expect((await get(short, cookie)).statusCode).toBe(200);
    short.clock.advance(1);
    expectRefused(await get(short, cookie));
  });

  it('revalidation does not extend it either: the registry record keeps the sign-in expiry', async () => {
    const cookie = await login(short);
    const userId = (await get(short, cookie)).json().user.id;
    const expiresAt = (await payloadOf(short, cookie))?.e as number;
    short.clock.advance(REVALIDATE);
    const checked = await get(short, cookie);
    expect(checked.statusCode).toBe(200);
    expect((await payloadOf(short, jarAfter(cookie, checked)))?.k).toBe(short.clock());
    const [record] = await short.gatehouse.store.listByUser(userId);
    expect(record?.expiresAt).toBe(expiresAt);
    // The registry's idle expiry runs one interval past the cookie's (it is only slid at a check).
    expect(record?.idleExpiresAt).toBe(Math.min(short.clock() + IDLE + REVALIDATE, expiresAt));
  });
});
