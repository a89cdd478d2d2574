// client.fetch against a real gateway: the CSRF header is what makes unsafe requests pass, the
// cookie always goes along, and the gateway's 401 (and only the gateway's) signs the client out.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { login, testGateway, type TestGateway } from '../../gatehouse/test/helpers/gateway.js';
import { createGatehouseClient, type GatehouseState, type SignedOutEvent } from '../src/index.js';
import { next, testBrowser } from './helpers/browser.js';

const PASSWORD = 'correct horse battery staple';
const COOKIE = '__Host-gatehouse';

let gw: TestGateway | undefined;
let upstream: Server | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  upstream = undefined;
});

async function signedInClient(overrides: Parameters<typeof testGateway>[0] = {}) {
  gw = await testGateway(overrides);
  const browser = testBrowser(gw);
  const client = createGatehouseClient({ fetch: browser.fetch, origin: browser.origin, navigate: () => undefined });
  await client.login({ username: 'alice', password: PASSWORD });
  return { gw, browser, client };
}

describe('client.fetch', () => {
  it('an unsafe request without X-CSRF is refused by the gateway; through the client it passes', async () => {
    const { browser, client } = await signedInClient();
    // The page's own fetch, cookie included, Origin and Sec-Fetch-Site same-origin: still refused.
    const plain = await browser.fetch('/auth/sessions', { method: 'DELETE' });
    expect(plain.status).toBe(403);
    expect(await plain.json()).toEqual({ error: 'csrf_rejected', message: expect.any(String) });
    expect(browser.sent.at(-1)?.headers.cookie).toContain(`${COOKIE}=`);
    expect(browser.sent.at(-1)?.headers['x-csrf']).toBeUndefined();

    const viaClient = await client.fetch('/auth/sessions', { method: 'DELETE' });
    expect(viaClient.status).toBe(200);
    expect(await viaClient.json()).toEqual({ revoked: 0 });
    expect(browser.sent.at(-1)?.headers['x-csrf']).toBe('1');
  });

  it('adds X-CSRF to every unsafe method, also on a Request object, and never to safe ones', async () => {
    const { browser, client } = await signedInClient();
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      await client.fetch('/auth/session', { method });
      expect(browser.sent.at(-1)?.headers['x-csrf'], method).toBeUndefined();
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      await client.fetch('/files/report.txt', { method });
      expect(browser.sent.at(-1)?.headers['x-csrf'], method).toBe('1');
    }
    const request = new Request('https://gatehouse.test/auth/logout', { method: 'POST', headers: { accept: 'application/json' } });
    const response = await client.fetch(request);
    expect(response.status).toBe(200);
    expect(browser.sent.at(-1)?.headers).toMatchObject({ 'x-csrf': '1', accept: 'application/json' });
  });

  it('a request to another origin carries no X-CSRF, and its 401 "unauthenticated" changes nothing', async () => {
    gw = await testGateway();
    // A third-party API with CORS that answers 401 "unauthenticated" about its own credentials.
    const browser = testBrowser(gw, {
      crossOrigin: () => new Response(JSON.stringify({ error: 'unauthenticated' }), { status: 401, headers: { 'content-type': 'application/json' } }),
    });
    const client = createGatehouseClient({ fetch: browser.fetch, origin: browser.origin });
    await client.login({ username: 'alice', password: PASSWORD });
    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));
    const sent = browser.sent.length;

    for (const url of ['https://other.example/x', '//other.example/x', 'http://gatehouse.test/x', 'https://gatehouse.test:8443/x']) {
      const response = await client.fetch(url, { method: 'POST', body: '{}' });
      expect(response.status, url).toBe(401);
      expect(browser.sent.at(-1)?.path, url).toBe(new URL(url, 'https://gatehouse.test/').href);
      expect(browser.sent.at(-1)?.headers['x-csrf'], url).toBeUndefined();
    }
    await client.fetch(new Request('https://other.example/x', { method: 'DELETE' }));
    expect(browser.sent.at(-1)?.headers['x-csrf']).toBeUndefined();
    // No GET /auth/session to confirm, no sign-out: another site's 401 is about that site.
    expect(browser.sent.slice(sent).map((s) => s.path)).toEqual([
      'https://other.example/x',
      'https://other.example/x',
      'http://gatehouse.test/x',
      'https://gatehouse.test:8443/x',
      'https://other.example/x',
    ]);
    expect(events).toEqual([]);
    expect(client.state.status).toBe('signed-in');

    // The page's own origin, spelled absolutely, is the gateway: header added.
    await client.fetch('https://gatehouse.test/files/report.txt', { method: 'POST' });
    expect(browser.sent.at(-1)).toMatchObject({ path: '/files/report.txt', headers: { 'x-csrf': '1' } });
  });

  it("always sends credentials 'same-origin', whatever the caller asked", async () => {
    const { browser, client } = await signedInClient();
    const response = await client.fetch('/auth/session', { credentials: 'omit' });
    expect(response.status).toBe(200);
    expect(browser.sent.at(-1)?.credentials).toBe('same-origin');
  });

  it('a 401 from /auth emits signedout before the Response is returned; from elsewhere once GET /auth/session confirms it', async () => {
    const { gw, browser, client } = await signedInClient();
    const session = client.state.status === 'signed-in' ? client.state.session : undefined;
    const changes: GatehouseState[] = [];
    client.on('change', (state) => changes.push(state));
    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));

    // Another device of alice's revokes this one.
    const other = await login(gw);
    const revoke = await gw.inject({
      method: 'DELETE',
      url: `/auth/sessions/${session?.id}`,
      headers: { origin: 'https://gatehouse.test', 'sec-fetch-site': 'same-origin', 'x-csrf': '1', cookie: other },
    });
    expect(revoke.statusCode).toBe(200);

    // Under /auth only the gateway answers: its 401 is the verdict, signed out before the Response.
    const response = await client.fetch('/auth/sessions');
    expect(events).toEqual([{ reason: 'unauthenticated', code: 'unauthenticated', status: 401 }]);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'unauthenticated', message: 'Sign-in required.' });
    expect(client.state).toEqual({ status: 'signed-out', reason: 'unauthenticated' });
    expect(changes).toEqual([{ status: 'signed-out', reason: 'unauthenticated' }]);
    // The gateway expired the stale cookie in the same answer.
    expect(browser.cookies.has(COOKIE)).toBe(false);

    // Signed out is a state: session() answers from it, and a second 401 is no second event.
    const requests = browser.sent.length;
    expect(await client.session()).toBeNull();
    expect(browser.sent.length).toBe(requests);
    await client.fetch('/auth/sessions');
    expect(events).toHaveLength(1);
  });

  it('a 401 from outside /auth is confirmed in the background: the Response comes back at once, signedout follows', async () => {
    const { gw, browser, client } = await signedInClient();
    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));
    await gw.inject({ method: 'POST', url: '/auth/logout', headers: { origin: browser.origin, 'sec-fetch-site': 'same-origin', 'x-csrf': '1', cookie: `${COOKIE}=${browser.cookies.get(COOKIE)}` } });

    const ended = next<SignedOutEvent>((listener) => client.on('signedout', listener));
    const response = await client.fetch('/files/report.txt');
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'unauthenticated', message: 'Sign-in required.' });
    expect(await ended).toEqual({ reason: 'unauthenticated', code: 'unauthenticated', status: 401 });
    expect(client.state).toEqual({ status: 'signed-out', reason: 'unauthenticated' });
    expect(browser.sent.slice(-2).map((s) => `${s.method} ${s.path} → ${s.status}`)).toEqual(['GET /files/report.txt → 401', 'GET /auth/session → 401']);
    expect(events).toHaveLength(1);
  });

  it('a confirming GET /auth/session that hangs does not hang the caller', async () => {
    const { gw, browser } = await signedInClient();
    // GET /auth/session is answered by the gateway but never reaches the page until released.
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hangingFetch: typeof fetch = async (input, init) => {
      const response = await browser.fetch(input, init);
      if (String(input) === '/auth/session') await gate;
      return response;
    };
    const client = createGatehouseClient({ fetch: hangingFetch });
    await client.login({ username: 'alice', password: PASSWORD });
    await gw.inject({ method: 'POST', url: '/auth/logout', headers: { origin: browser.origin, 'sec-fetch-site': 'same-origin', 'x-csrf': '1', cookie: `${COOKIE}=${browser.cookies.get(COOKIE)}` } });
    const ended = next<SignedOutEvent>((listener) => client.on('signedout', listener));

    const outcome = await Promise.race([client.fetch('/files/report.txt').then((r) => r.status), delay(500).then(() => 'still waiting')]);
    expect(outcome).toBe(401);
    await vi.waitFor(() => expect(browser.sent.at(-1)?.path).toBe('/auth/session'));
    expect(client.state.status).toBe('signed-in');
    release();
    expect(await ended).toEqual({ reason: 'unauthenticated', code: 'unauthenticated', status: 401 });
  });

  it('a GET /auth/session sent before the 401 cannot confirm the session: a new one is asked', async () => {
    const { gw, browser } = await signedInClient();
    // Holds the answer to the first GET /auth/session: the gateway answered 200 while the
    // session still lived, and the answer reaches the page only after the session ended.
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reachedGate = () => {};
    const held = new Promise<void>((resolve) => {
      reachedGate = resolve;
    });
    let holdNext = true;
    const slowFetch: typeof fetch = async (input, init) => {
      const response = await browser.fetch(input, init);
      if (String(input) === '/auth/session' && holdNext) {
        holdNext = false;
        reachedGate();
        await gate;
      }
      return response;
    };
    const client = createGatehouseClient({ fetch: slowFetch });
    await client.login({ username: 'alice', password: PASSWORD });
    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));

    const stale = client.refreshSession();
    await held;
    await gw.inject({ method: 'POST', url: '/auth/logout', headers: { origin: browser.origin, 'sec-fetch-site': 'same-origin', 'x-csrf': '1', cookie: `${COOKIE}=${browser.cookies.get(COOKIE)}` } });
    expect((await client.fetch('/files/report.txt')).status).toBe(401);
    // Not the held 200 but a new request confirms: the session is gone.
    await vi.waitFor(() => expect(events).toEqual([{ reason: 'unauthenticated', code: 'unauthenticated', status: 401 }]));
    release();
    // The older answer, arriving last, changes nothing.
    expect(await stale).toBeNull();
    expect(client.state).toEqual({ status: 'signed-out', reason: 'unauthenticated' });
    expect(browser.sent.slice(-3).map((s) => `${s.method} ${s.path} → ${s.status}`)).toEqual([
      'GET /auth/session → 200',
      'GET /files/report.txt → 401',
      'GET /auth/session → 401',
    ]);
  });

  it("an API's own 401 does not sign the user out: the client asks the gateway first", async () => {
    // A real upstream that answers 401 "unauthenticated" about its own credentials.
    upstream = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthenticated', message: 'upstream says no' }));
    });
    await new Promise<void>((resolve) => upstream?.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    const { browser, client } = await signedInClient({ apis: [{ path: '/api/strict', upstream: `http://127.0.0.1:${port}`, auth: 'required' }] });
    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));

    const response = await client.fetch('/api/strict/thing');
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'unauthenticated', message: 'upstream says no' });
    // The confirmation runs after the Response is handed back.
    await vi.waitFor(() => expect(browser.sent.at(-1)?.path).toBe('/auth/session'));
    expect(browser.sent.slice(-2).map((s) => `${s.method} ${s.path} → ${s.status}`)).toEqual([
      'GET /api/strict/thing → 401',
      'GET /auth/session → 200',
    ]);
    expect(events).toEqual([]);
    expect(client.state.status).toBe('signed-in');

    // The same route once the session is gone: the gateway's own 401, confirmed, signs out.
    await client.fetch('/auth/logout', { method: 'POST' });
    const signedOut = next<SignedOutEvent>((l) => client.on('signedout', l));
    expect((await client.fetch('/api/strict/thing')).status).toBe(401);
    expect(await signedOut).toEqual({ reason: 'unauthenticated', code: 'unauthenticated', status: 401 });
  });

  it('a 401 to a request sent before a new sign-in does not sign the new session out', async () => {
    gw = await testGateway();
    const browser = testBrowser(gw);
    // Holds the answer to GET /auth/sessions until released: the request is answered by the
    // gateway at once (401, no session yet), but reaches the client only after the sign-in.
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slowFetch: typeof fetch = async (input, init) => {
      const response = await browser.fetch(input, init);
      if (String(input) === '/auth/sessions') await gate;
      return response;
    };
    const client = createGatehouseClient({ fetch: slowFetch });
    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));
    const early = client.fetch('/auth/sessions');
    await client.login({ username: 'alice', password: PASSWORD });
    release();
    expect((await early).status).toBe(401);
    expect(events).toEqual([]);
    expect(client.state.status).toBe('signed-in');
  });

  it('a wrong password is an error of login(), not a sign-out', async () => {
    const { client } = await signedInClient();
    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));
    await expect(client.login({ username: 'alice', password: 'wrong' })).rejects.toMatchObject({
      name: 'GatehouseClientError',
      code: 'invalid_credentials',
      status: 401,
      message: 'The username or password is incorrect.',
    });
    expect(events).toEqual([]);
    expect(await client.refreshSession()).toMatchObject({ user: { username: 'alice' } });
  });
});
