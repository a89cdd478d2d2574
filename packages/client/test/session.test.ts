// Session, sign-in, sign-out and the devices list against a real gateway.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../gatehouse/src/errors.js';
import { START, testGateway, type TestGateway } from '../../gatehouse/test/helpers/gateway.js';
import { createGatehouseClient, type GatehouseState, type SignedOutEvent } from '../src/index.js';
import { fakeClock, next, testBrowser } from './helpers/browser.js';

const PASSWORD = 'correct horse battery staple';
const COOKIE = '__Host-gatehouse';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function setup(overrides: Parameters<typeof testGateway>[0] = {}) {
  gw = await testGateway(overrides);
  const browser = testBrowser(gw);
  const navigations: string[] = [];
  const client = createGatehouseClient({ fetch: browser.fetch, navigate: (url) => navigations.push(url) });
  return { gw, browser, client, navigations };
}

const requests = (browser: ReturnType<typeof testBrowser>) => browser.sent.map((s) => `${s.method} ${s.path} → ${s.status}`);

describe('session()', () => {
  it('asks the gateway once, then answers from the state; refreshSession() asks again', async () => {
    const { browser, client } = await setup();
    const changes: GatehouseState[] = [];
    client.on('change', (state) => changes.push(state));
    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));

    expect(client.state).toEqual({ status: 'unknown' });
    expect(await client.session()).toBeNull();
    expect(await client.session()).toBeNull();
    expect(requests(browser)).toEqual(['GET /auth/session → 401']);
    // Not signed in at start-up is a sign-out too: the page shows its sign-in view from the event.
    expect(events).toEqual([{ reason: 'unauthenticated', code: 'unauthenticated', status: 401 }]);
    expect(changes).toEqual([{ status: 'signed-out', reason: 'unauthenticated' }]);

    const session = await client.login({ username: 'alice', password: PASSWORD });
    expect(session).toEqual({
      user: { id: expect.any(String), username: 'alice', name: 'Alice', roles: ['user'] },
      provider: 'local',
      id: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      createdAt: new Date(START),
      expiresAt: new Date(START + 12 * 3600_000),
      idleExpiresAt: new Date(START + 30 * 60_000),
      csrfToken: expect.stringMatching(/\./),
    });
    expect(client.state).toEqual({ status: 'signed-in', session });
    expect(changes.at(-1)).toEqual({ status: 'signed-in', session });
    // Never the token: the cookie's value appears nowhere in what the page gets.
    expect(JSON.stringify(session)).not.toContain(browser.cookies.get(COOKIE));

    expect(await client.session()).toBe(session);
    expect(requests(browser)).toEqual(['GET /auth/session → 401', 'POST /auth/login → 200']);
    // Concurrent refreshes share one request.
    const [a, b] = await Promise.all([client.refreshSession(), client.refreshSession()]);
    expect(a).toEqual(session);
    expect(b).toBe(a);
    expect(requests(browser)).toEqual(['GET /auth/session → 401', 'POST /auth/login → 200', 'GET /auth/session → 200']);
  });

  it('refreshSession() never answers with a request sent before the call (a page back from the bfcache asks anew)', async () => {
    const { browser, client } = await setup();
    await client.login({ username: 'alice', password: PASSWORD });
    // The first GET /auth/session is held: sent before the page was frozen, say.
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = 0;
    const slowFetch: typeof fetch = async (input, init) => {
      const response = await browser.fetch(input, init);
      if (held++ === 0) await gate;
      return response;
    };
    const slow = createGatehouseClient({ fetch: slowFetch });
    const old = slow.refreshSession();
    await vi.waitFor(() => expect(held).toBe(1));
    // session() with the state unknown takes any answer: it shares the request on its way.
    const any = slow.session();
    // Asked after that request left: a new request, answered while the old one still hangs.
    const fresh = slow.refreshSession();
    await vi.waitFor(() => expect(requests(browser).slice(-2)).toEqual(['GET /auth/session → 200', 'GET /auth/session → 200']));
    expect(await fresh).toMatchObject({ user: { username: 'alice' } });
    release();
    expect(await old).toMatchObject({ user: { username: 'alice' } });
    expect(await any).toBe(await old);
    expect(requests(browser).filter((r) => r.startsWith('GET /auth/session'))).toHaveLength(2);
  });

  it('a store outage is an error, not a sign-out', async () => {
    const { gw, client } = await setup();
    await client.login({ username: 'alice', password: PASSWORD });
    // The store goes down: the gateway fails closed (503), and the client keeps its state and
    // throws a typed error instead of sending the user to the sign-in page.
    const store = gw.gatehouse.store;
    const get = store.get;
    store.get = () => Promise.reject(new StoreUnavailableError());
    try {
      await expect(client.refreshSession()).rejects.toMatchObject({ name: 'GatehouseClientError', code: 'store_unavailable', status: 503 });
    } finally {
      store.get = get;
    }
    expect(client.state.status).toBe('signed-in');
  });
});

describe('login() and logout()', () => {
  it('local sign-in goes to returnTo when it is a same-origin path, and nowhere otherwise', async () => {
    const { client, navigations } = await setup();
    await client.login({ username: 'alice', password: PASSWORD, returnTo: '/reports?year=2026#top' });
    for (const returnTo of [
      '//evil.example/',
      'https://evil.example/',
      '/\\evil.example',
      'javascript:alert(1)',
      'reports',
      // Paths that normalise to `//evil.example`, another host.
      '/.//evil.example',
      '/%2e//evil.example',
      '/a/..//evil.example',
    ]) {
      await client.login({ username: 'alice', password: PASSWORD, returnTo });
    }
    expect(navigations).toEqual(['/reports?year=2026#top']);
  });

  it('throttling is a typed error with Retry-After', async () => {
    const { client } = await setup({ local: { enabled: true, store: 'memory', throttle: { accountFailures: 1 } } });
    await expect(client.login({ username: 'bob', password: 'wrong' })).rejects.toMatchObject({ code: 'invalid_credentials', status: 401 });
    const error = await client.login({ username: 'bob', password: PASSWORD }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'GatehouseClientError', code: 'login_throttled', status: 429, retryAfter: expect.any(Number) });
    expect((error as { retryAfter: number }).retryAfter).toBeGreaterThan(0);
  });

  it('logout ends the session at the gateway and emits signedout; a local session has no provider page to visit', async () => {
    const { browser, client, navigations } = await setup();
    await client.login({ username: 'alice', password: PASSWORD });
    const cookie = browser.cookies.get(COOKIE);
    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));

    expect(await client.logout()).toEqual({});
    expect(events).toEqual([{ reason: 'logout' }]);
    expect(client.state).toEqual({ status: 'signed-out', reason: 'logout' });
    expect(navigations).toEqual([]);
    expect(browser.cookies.has(COOKIE)).toBe(false);
    // The old cookie, replayed, names no session any more.
    const replay = await gw?.inject({ method: 'GET', url: '/auth/session', headers: { cookie: `${COOKIE}=${cookie}` } });
    expect(replay?.statusCode).toBe(401);
  });

  it('a logout refused while the store is down (503) keeps this client signed in, with retryAfter; the retry ends the session', async () => {
    gw = await testGateway();
    const browser = testBrowser(gw);
    const clock = fakeClock(gw.clock);
    const client = createGatehouseClient({ fetch: browser.fetch, clock, navigate: () => undefined });
    const session = await client.login({ username: 'alice', password: PASSWORD });
    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));
    const store = gw.gatehouse.store;
    const get = store.get;
    store.get = () => Promise.reject(new StoreUnavailableError());
    try {
      await expect(client.logout()).rejects.toMatchObject({ name: 'GatehouseClientError', code: 'store_unavailable', status: 503, retryAfter: 2 });
    } finally {
      store.get = get;
    }
    // The gateway kept the cookie (the session is live): reporting a sign-out now would be a lie.
    expect(browser.cookies.has(COOKIE)).toBe(true);
    expect(events).toEqual([]);
    expect(client.state).toEqual({ status: 'signed-in', session });
    // The store is back: the same call ends the session.
    expect(await client.logout()).toEqual({});
    expect(browser.cookies.has(COOKIE)).toBe(false);
    expect(events).toEqual([{ reason: 'logout' }]);
    expect(client.state).toEqual({ status: 'signed-out', reason: 'logout' });
    expect(clock.pending()).toBe(0);
  });

  it('a logout that got no answer at all (network_error) leaves the state as it was', async () => {
    gw = await testGateway();
    const browser = testBrowser(gw);
    let online = true;
    const client = createGatehouseClient({
      fetch: (input, init) => (online ? browser.fetch(input, init) : Promise.reject(new TypeError('Failed to fetch'))),
    });
    const session = await client.login({ username: 'alice', password: PASSWORD });
    online = false;
    await expect(client.logout()).rejects.toMatchObject({ code: 'network_error', status: 0 });
    expect(client.state).toEqual({ status: 'signed-in', session });
    expect(browser.cookies.has(COOKIE)).toBe(true);
  });

  it('providers() lists the sign-in methods, once', async () => {
    const { browser, client } = await setup();
    expect(await client.providers()).toEqual({ local: true, providers: [] });
    expect(await client.providers()).toEqual({ local: true, providers: [] });
    expect(requests(browser)).toEqual(['GET /auth/providers → 200']);
  });

  it('changePassword() keeps this browser signed in under a fresh session id', async () => {
    const { client } = await setup();
    const before = await client.login({ username: 'alice', password: PASSWORD });
    const after = await client.changePassword({ currentPassword: PASSWORD, newPassword: 'another long passphrase' });
    expect(after.id).not.toBe(before.id);
    expect(client.state).toEqual({ status: 'signed-in', session: after });
    await expect(client.changePassword({ currentPassword: 'wrong', newPassword: 'x' })).rejects.toMatchObject({
      name: 'GatehouseClientError',
      code: 'invalid_credentials',
      status: 401,
    });
    // Refused, the password change leaves this session as it was.
    expect(client.state).toEqual({ status: 'signed-in', session: after });
  });
});

describe('close()', () => {
  it('answers that arrive after close() set no timer, change no state and emit nothing', async () => {
    gw = await testGateway();
    const browser = testBrowser(gw);
    const clock = fakeClock(gw.clock);
    // Answers are held until released: they arrive after the app has unmounted (StrictMode, HMR).
    let hold: Promise<void> | undefined;
    let release = () => {};
    const slowFetch: typeof fetch = async (input, init) => {
      const response = await browser.fetch(input, init);
      await hold;
      return response;
    };
    const delay = () => {
      hold = new Promise<void>((resolve) => {
        release = () => {
          hold = undefined;
          resolve();
        };
      });
    };
    await createGatehouseClient({ fetch: browser.fetch }).login({ username: 'alice', password: PASSWORD });

    // A session answer (200) after close().
    const first = createGatehouseClient({ fetch: slowFetch, clock });
    delay();
    const pending = first.session();
    first.close();
    const heard: string[] = [];
    first.on('change', (state) => heard.push(state.status));
    first.on('expiring', () => heard.push('expiring'));
    release();
    expect(await pending).toBeNull();
    expect(first.state).toEqual({ status: 'unknown' });
    expect(clock.pending()).toBe(0);
    clock.advance(60 * 60_000);
    expect(browser.sent.at(-1)?.path).toBe('/auth/session');
    expect(browser.sent.filter((s) => s.path === '/auth/session')).toHaveLength(1);

    // A 401 after close(): no sign-out either.
    const second = createGatehouseClient({ fetch: slowFetch, clock });
    await second.login({ username: 'alice', password: PASSWORD });
    await gw.inject({ method: 'POST', url: '/auth/logout', headers: { origin: browser.origin, 'sec-fetch-site': 'same-origin', 'x-csrf': '1', cookie: `${COOKIE}=${browser.cookies.get(COOKIE)}` } });
    delay();
    const answer = second.fetch('/auth/sessions');
    second.close();
    second.on('signedout', (event) => heard.push(event.reason));
    second.on('change', (state) => heard.push(state.status));
    release();
    expect((await answer).status).toBe(401);
    expect(second.state.status).toBe('signed-in');
    expect(heard).toEqual([]);
    expect(clock.pending()).toBe(0);
  });
});

describe('the devices list', () => {
  it('two browsers are two devices: each sees both, revokes the other, and the revoked one is signed out on its next request', async () => {
    const { gw, client: laptop } = await setup();
    const phoneBrowser = testBrowser(gw);
    const phone = createGatehouseClient({ fetch: phoneBrowser.fetch });
    const laptopSession = await laptop.login({ username: 'alice', password: PASSWORD });
    const phoneSession = await phone.login({ username: 'alice', password: PASSWORD });

    const devices = await laptop.sessions();
    expect(devices.map((d) => [d.id, d.current]).sort()).toEqual(
      [
        [laptopSession.id, true],
        [phoneSession.id, false],
      ].sort(),
    );
    expect(devices[0]).toMatchObject({ provider: 'local', createdAt: expect.any(Date), lastSeenAt: expect.any(Date), expiresAt: expect.any(Date) });

    const phoneEvents: SignedOutEvent[] = [];
    phone.on('signedout', (event) => phoneEvents.push(event));
    await laptop.revoke(phoneSession.id);
    expect(phone.state.status).toBe('signed-in'); // nothing tells it yet…
    const ended = next<SignedOutEvent>((listener) => phone.on('signedout', listener));
    expect((await phone.fetch('/files/report.txt')).status).toBe(401); // …until its next request
    await ended; // once GET /auth/session confirmed it
    expect(phoneEvents).toEqual([{ reason: 'unauthenticated', code: 'unauthenticated', status: 401 }]);
    expect((await laptop.sessions()).map((d) => d.id)).toEqual([laptopSession.id]);

    // Someone else's (or an unknown) id answers the same: no such session of yours.
    await expect(laptop.revoke(phoneSession.id)).rejects.toMatchObject({ code: 'session_not_found', status: 404 });
  });

  it('revokeOthers() ends every other session; revoking the current one signs this client out', async () => {
    const { gw, client } = await setup();
    for (let i = 0; i < 2; i++) await createGatehouseClient({ fetch: testBrowser(gw).fetch }).login({ username: 'alice', password: PASSWORD });
    const session = await client.login({ username: 'alice', password: PASSWORD });
    expect(await client.revokeOthers()).toBe(2);
    expect(await client.revokeOthers()).toBe(0);
    expect((await client.sessions()).map((d) => d.id)).toEqual([session.id]);

    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));
    await client.revoke(session.id);
    expect(events).toEqual([{ reason: 'revoked' }]);
    expect(await client.refreshSession()).toBeNull();
  });
});
