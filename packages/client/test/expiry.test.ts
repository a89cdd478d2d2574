// Expiry with one clock shared by the gateway and the client: time moves, nothing sleeps.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { START, testGateway, type TestGateway } from '../../gatehouse/test/helpers/gateway.js';
import { createGatehouseClient, type ExpiringEvent, type GatehouseState, type SignedOutEvent } from '../src/index.js';
import { type FakePage, fakeClock, fakePage, next, testBrowser } from './helpers/browser.js';

const PASSWORD = 'correct horse battery staple';
const MINUTE = 60_000;

let gw: TestGateway | undefined;
let page: FakePage | undefined;
afterEach(async () => {
  page?.restore();
  page = undefined;
  await gw?.close();
  gw = undefined;
});

async function setup(timeouts: { idleTimeout: string; absoluteTimeout: string }, options: { offsetMs?: number; expiryWarningMs?: number } = {}) {
  gw = await testGateway({ session: { store: 'memory', ...timeouts } });
  const clock = fakeClock(gw.clock, options.offsetMs);
  const browser = testBrowser(gw);
  const client = createGatehouseClient({
    fetch: browser.fetch,
    clock,
    ...(options.expiryWarningMs === undefined ? {} : { expiryWarningMs: options.expiryWarningMs }),
  });
  const expiring: ExpiringEvent[] = [];
  const signedOut: SignedOutEvent[] = [];
  client.on('expiring', (event) => expiring.push(event));
  client.on('signedout', (event) => signedOut.push(event));
  const session = await client.login({ username: 'alice', password: PASSWORD });
  return { gw, clock, browser, client, session, expiring, signedOut };
}

describe('absolute expiry', () => {
  it('warns expiryWarningMs before, then signs out at the expiry without a request; the gateway agrees', async () => {
    const { clock, browser, session, expiring, signedOut } = await setup({ idleTimeout: '10m', absoluteTimeout: '10m' });
    const sent = browser.sent.length;

    clock.advance(9 * MINUTE - 1);
    expect(expiring).toEqual([]);
    clock.advance(1);
    expect(expiring).toEqual([{ session, expiresAt: new Date(START + 10 * MINUTE), remainingMs: MINUTE }]);

    clock.advance(MINUTE - 1);
    expect(signedOut).toEqual([]);
    clock.advance(1);
    expect(signedOut).toEqual([{ reason: 'session_expired' }]);
    expect(browser.sent.length).toBe(sent);
    expect(clock.pending()).toBe(0);
    // At that very instant the gateway no longer honours the cookie either.
    expect((await browser.fetch('/auth/session')).status).toBe(401);
  });

  it("follows the gateway's clock when the user's clock is wrong (5 minutes ahead)", async () => {
    const { clock, signedOut, expiring } = await setup({ idleTimeout: '10m', absoluteTimeout: '10m' }, { offsetMs: 5 * MINUTE });
    clock.advance(9 * MINUTE);
    expect(expiring).toHaveLength(1);
    clock.advance(MINUTE - 1);
    expect(signedOut).toEqual([]);
    clock.advance(1);
    expect(signedOut).toEqual([{ reason: 'session_expired' }]);
    expect(gw?.clock()).toBe(START + 10 * MINUTE);
  });

  it('warns at once when the session is already inside the warning window; never twice for one session', async () => {
    const { clock, client, expiring } = await setup({ idleTimeout: '30s', absoluteTimeout: '30s' });
    clock.advance(0);
    expect(expiring).toMatchObject([{ remainingMs: 30_000 }]);
    await client.refreshSession();
    clock.advance(10_000);
    expect(expiring).toHaveLength(1);
  });

  it('handles lifetimes longer than a timer can wait (30 days > 2^31 ms)', async () => {
    const { clock, expiring, signedOut } = await setup({ idleTimeout: '30d', absoluteTimeout: '30d' });
    clock.advance(30 * 24 * 60 * MINUTE - MINUTE - 1);
    expect(expiring).toEqual([]);
    clock.advance(1);
    expect(expiring).toHaveLength(1);
    clock.advance(MINUTE);
    expect(signedOut).toEqual([{ reason: 'session_expired' }]);
  });

  it('expiryWarningMs: 0 turns the warning off', async () => {
    const { clock, expiring, signedOut } = await setup({ idleTimeout: '10m', absoluteTimeout: '10m' }, { expiryWarningMs: 0 });
    clock.advance(10 * MINUTE);
    expect(expiring).toEqual([]);
    expect(signedOut).toEqual([{ reason: 'session_expired' }]);
  });

  it('sign-out clears the timers', async () => {
    const { clock, client, expiring, signedOut } = await setup({ idleTimeout: '10m', absoluteTimeout: '10m' });
    await client.logout();
    expect(clock.pending()).toBe(0);
    clock.advance(20 * MINUTE);
    expect(expiring).toEqual([]);
    expect(signedOut).toEqual([{ reason: 'logout' }]);
  });
});

describe('idle expiry', () => {
  it('asks the gateway once the known idle expiry passed: still alive after activity it did not see, signed out after none', async () => {
    const { clock, browser, client, session, signedOut } = await setup({ idleTimeout: '5m', absoluteTimeout: '1h' });
    expect(session.idleExpiresAt).toEqual(new Date(START + 5 * MINUTE));

    // Activity the client does not track (another tab, an <img>) slides the idle expiry.
    clock.advance(4 * MINUTE);
    expect((await browser.fetch('/files/report.txt')).status).toBe(200);
    const sent = browser.sent.length;

    const refreshed = next<GatehouseState>((listener) => client.on('change', listener));
    clock.advance(MINUTE + 1_000);
    const state = await refreshed;
    expect(browser.sent.slice(sent).map((s) => `${s.method} ${s.path} → ${s.status}`)).toEqual(['GET /auth/session → 200']);
    expect(state.status).toBe('signed-in');
    const idleExpiresAt = state.status === 'signed-in' ? state.session.idleExpiresAt.getTime() : 0;
    expect(idleExpiresAt).toBeGreaterThan(START + 5 * MINUTE);
    expect(signedOut).toEqual([]);

    // No activity since: at the new idle expiry the gateway refuses, and the client signs out.
    const ended = next<SignedOutEvent>((listener) => client.on('signedout', listener));
    clock.advance(idleExpiresAt + 1_000 - gwNow());
    expect(await ended).toEqual({ reason: 'session_expired', code: 'unauthenticated', status: 401 });
    expect(client.state).toEqual({ status: 'signed-out', reason: 'session_expired' });
  });
});

describe('after the machine slept', () => {
  // setTimeout does not count time asleep: a laptop closed for an hour finds its timers still
  // waiting. `clock.sleep` moves time without running them, as a suspended machine does.
  it('runs the timers whose time passed as soon as the page is visible again', async () => {
    page = fakePage();
    const { clock, client, expiring, signedOut } = await setup({ idleTimeout: '10m', absoluteTimeout: '10m' });
    expect(page.listeners()).toBe(3);
    page.hide();
    clock.sleep(11 * MINUTE);
    clock.advance(0);
    // The timers alone would wait another 9 and 10 minutes.
    expect(expiring).toEqual([]);
    expect(signedOut).toEqual([]);

    page.show();
    expect(expiring).toMatchObject([{ remainingMs: 0 }]);
    expect(signedOut).toEqual([{ reason: 'session_expired' }]);
    expect(client.state).toEqual({ status: 'signed-out', reason: 'session_expired' });
    expect(clock.pending()).toBe(0);

    client.close();
    expect(page.listeners()).toBe(0);
  });

  it('checks on focus and online too, but not while the page is hidden; a timer not yet due keeps waiting', async () => {
    page = fakePage();
    const { clock, expiring, signedOut } = await setup({ idleTimeout: '10m', absoluteTimeout: '10m' });
    clock.sleep(9 * MINUTE + 30_000);
    page.dispatch('focus');
    expect(expiring).toMatchObject([{ remainingMs: 30_000 }]);
    expect(signedOut).toEqual([]);

    page.hide();
    clock.sleep(MINUTE);
    page.dispatch('online');
    expect(signedOut).toEqual([]);
    page.show();
    expect(signedOut).toEqual([{ reason: 'session_expired' }]);
    expect(expiring).toHaveLength(1);
  });

  it('asks the gateway at once when the idle expiry passed during the sleep', async () => {
    page = fakePage();
    const { clock, browser, client, signedOut } = await setup({ idleTimeout: '5m', absoluteTimeout: '1h' });
    clock.sleep(6 * MINUTE);
    page.dispatch('online');
    await vi.waitFor(() => expect(signedOut).toEqual([{ reason: 'session_expired', code: 'unauthenticated', status: 401 }]));
    expect(client.state).toEqual({ status: 'signed-out', reason: 'session_expired' });
    expect(browser.sent.at(-1)).toMatchObject({ path: '/auth/session', status: 401 });
  });
});

function gwNow(): number {
  if (!gw) throw new Error('no gateway');
  return gw.clock();
}
