import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { oidcData } from '../../src/oidc/tokens.js';
import { ORIGIN, SAME_ORIGIN } from '../helpers/gateway.js';
import { federatedLogin, Jar, oidcHarness, type OidcHarness, submitProviderForm } from '../helpers/oidc.js';
import { createMemoryCoordination } from '../../src/backends/coordination/memory.js';

let h: OidcHarness;
afterEach(async () => h?.close());

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const session = (cookie: string) => h.gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } });

describe('tokens stay on the server', () => {
  it('stores the tokens sealed (JWE), never in clear, and never in any response', async () => {
    h = await oidcHarness();
    const { cookie } = await federatedLogin(h);
    const [record] = await h.gw.gatehouse.store.listByUser('test:ada');
    const oidc = oidcData(record?.data);
    expect(oidc?.tokens.split('.')).toHaveLength(5); // compact JWE
    expect(JSON.stringify(record)).not.toMatch(/"(access|refresh|id)_?[tT]oken"\s*:\s*"[^"]{20,}/);
    const tokens = await new (await import('../../src/oidc/refresh.js')).TokenRefresher({
      providers: new Map(),
      sessions: h.gw.gatehouse.sessions,
      keys: h.gw.gatehouse.keys,
      clock: h.gw.clock,
      coordination: createMemoryCoordination(),
    }).tokens(record!);
    expect(tokens?.accessToken.length).toBeGreaterThan(10);
    expect(JSON.stringify(record)).not.toContain(tokens!.accessToken);
    expect(JSON.stringify(record)).not.toContain(tokens!.refreshToken as string);
    for (const url of ['/auth/session', '/auth/sessions']) {
      const res = await h.gw.inject({ method: 'GET', url, headers: { ...SAME_ORIGIN, cookie } });
      expect(res.body).not.toContain(tokens!.accessToken);
      expect(res.body).not.toContain(tokens!.idToken);
      expect(JSON.stringify(res.headers)).not.toContain(tokens!.accessToken);
    }
  });
});

describe('refresh', () => {
  it('is single-flight: 20 parallel requests with an expired access token cause exactly one token request, and all succeed', async () => {
    h = await oidcHarness({}, { accessTokenTtl: 30 });
    const { cookie } = await federatedLogin(h);
    const before = h.tokenRequests();
    h.gw.clock.advance(0); // the provider's clock is real: a 30 s token is already inside the 60 s refresh window
    const results = await Promise.all(Array.from({ length: 20 }, () => session(cookie)));
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect(h.tokenRequests() - before).toBe(1);
    // The rotated refresh token was stored: a second refresh works too (one-time tokens survive).
    const again = await Promise.all(Array.from({ length: 5 }, () => session(cookie)));
    expect(again.map((r) => r.statusCode)).toEqual(Array(5).fill(200));
    expect(h.tokenRequests() - before).toBe(2);
  });

  it('does not refresh while the access token is fresh', async () => {
    h = await oidcHarness({}, { accessTokenTtl: 3600 });
    const { cookie } = await federatedLogin(h);
    const before = h.tokenRequests();
    for (let i = 0; i < 5; i++) expect((await session(cookie)).statusCode).toBe(200);
    expect(h.tokenRequests()).toBe(before);
  });

  it('ends the session when the provider revoked the grant (invalid_grant): the SPA gets 401', async () => {
    h = await oidcHarness({}, { accessTokenTtl: 30 });
    const { cookie } = await federatedLogin(h);
    const [record] = await h.gw.gatehouse.store.listByUser('test:ada');
    // Revoke the refresh token at the provider, as an administrator would.
    const refresher = new (await import('../../src/oidc/refresh.js')).TokenRefresher({ providers: new Map(), sessions: h.gw.gatehouse.sessions, keys: h.gw.gatehouse.keys, clock: h.gw.clock, coordination: createMemoryCoordination() });
    const tokens = await refresher.tokens(record!);
    const revoke = await fetch(`${h.idp.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('gatehouse-test:a-long-test-client-secret-0123456789').toString('base64')}` },
      body: new URLSearchParams({ token: tokens!.refreshToken as string, token_type_hint: 'refresh_token' }),
    });
    expect(revoke.status).toBe(200);
    const res = await session(cookie);
    expect(res.statusCode).toBe(401);
    expect(String(res.headers['set-cookie'])).toMatch(/^__Host-gatehouse=; Max-Age=0/);
    expect(await h.gw.gatehouse.store.listByUser('test:ada')).toEqual([]);
  });
});

describe('RP-initiated logout', () => {
  it('ends the local session first, revokes the refresh token, and returns the end-session URL', async () => {
    h = await oidcHarness();
    const { cookie } = await federatedLogin(h);
    const [record] = await h.gw.gatehouse.store.listByUser('test:ada');
    const refresher = new (await import('../../src/oidc/refresh.js')).TokenRefresher({ providers: new Map(), sessions: h.gw.gatehouse.sessions, keys: h.gw.gatehouse.keys, clock: h.gw.clock, coordination: createMemoryCoordination() });
    const tokens = await refresher.tokens(record!);
    const res = await h.gw.inject({ method: 'POST', url: '/auth/logout', headers: { ...SAME_ORIGIN, cookie } });
    expect(res.statusCode).toBe(200);
    const redirect = new URL(res.json().redirect);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(`${h.idp.issuer}/session/end`);
    expect(redirect.searchParams.get('id_token_hint')).toBe(tokens!.idToken);
    expect(redirect.searchParams.get('post_logout_redirect_uri')).toBe(`${ORIGIN}/`);
    expect(redirect.searchParams.get('state')).toMatch(/.{16,}/);
    expect(redirect.searchParams.get('client_id')).toBe('gatehouse-test');
    expect(await h.gw.gatehouse.store.listByUser('test:ada')).toEqual([]);
    expect((await session(cookie)).statusCode).toBe(401);
    // The refresh token no longer works at the provider.
    const introspect = await fetch(`${h.idp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('gatehouse-test:a-long-test-client-secret-0123456789').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens!.refreshToken as string }),
    });
    expect(introspect.status).toBe(400);
    expect((await introspect.json()).error).toBe('invalid_grant');
  });
});

describe('RP-initiated logout without the ID token (logoutIdTokenHint: false)', () => {
  it('sends client_id only, so no token crosses the browser; the real provider accepts it', async () => {
    h = await oidcHarness({}, {}, { logoutIdTokenHint: false });
    const { cookie } = await federatedLogin(h);
    const res = await h.gw.inject({ method: 'POST', url: '/auth/logout', headers: { ...SAME_ORIGIN, cookie } });
    expect(res.statusCode).toBe(200);
    const redirect = new URL(res.json().redirect);
    expect(redirect.searchParams.has('id_token_hint')).toBe(false);
    expect(redirect.searchParams.get('client_id')).toBe('gatehouse-test');
    expect(redirect.searchParams.get('post_logout_redirect_uri')).toBe(`${ORIGIN}/`);
    expect(res.body).not.toMatch(/eyJ[\w-]+\.eyJ/);
    // oidc-provider answers its logout confirmation page (an error page would be a 400).
    const page = await fetch(redirect);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/logout/i);
  });
});

describe('back-channel logout from the real provider', () => {
  it('a sign-out at the provider ends exactly the matching gateway session', async () => {
    const port = await freePort();
    h = await oidcHarness({}, { backchannelLogoutUri: `http://127.0.0.1:${port}/auth/backchannel-logout/test` });
    await h.gw.gatehouse.app.listen({ host: '127.0.0.1', port });
    const adaJar = new Jar();
    const ada = await federatedLogin(h, 'ada', '/', adaJar);
    const alan = await federatedLogin(h, 'alan', '/', new Jar());
    expect((await session(ada.cookie)).statusCode).toBe(200);
    // Ada signs out at the provider (another app's logout, say): the provider calls the gateway.
    const done = await submitProviderForm(`${h.idp.issuer}/session/end?client_id=gatehouse-test`, adaJar, { logout: 'yes' });
    expect(done.status).toBeLessThan(400);
    await expect.poll(async () => (await session(ada.cookie)).statusCode, { timeout: 5000 }).toBe(401);
    expect(await h.gw.gatehouse.store.listByUser('test:ada')).toEqual([]);
    expect((await session(alan.cookie)).statusCode).toBe(200);
  });
});

describe('providers', () => {
  it('lists the configured providers for the login page', async () => {
    h = await oidcHarness();
    const res = await h.gw.inject({ method: 'GET', url: '/auth/providers', headers: SAME_ORIGIN });
    expect(res.json()).toEqual({ local: true, providers: [{ id: 'test', name: 'Test IdP', loginUrl: '/auth/login?provider=test' }] });
  });

  it('UserInfo claims are merged when configured (same sub)', async () => {
    h = await oidcHarness({}, {}, { userinfo: true });
    const { cookie } = await federatedLogin(h, 'alan');
    expect((await session(cookie)).json().user).toMatchObject({ id: 'test:alan', name: 'Alan Turing', email: 'alan@example.test' });
  });

  it('links to a local account only by verified email, when configured', async () => {
    h = await oidcHarness({}, {}, { linkLocalAccount: 'verified-email' });
    await h.gw.gatehouse.local!.accounts.add({ username: 'ada@example.test', password: 'a long local password', name: 'Ada (local)', roles: ['user'] });
    await h.gw.gatehouse.local!.accounts.add({ username: 'alan@example.test', password: 'a long local password', name: 'Alan (local)' });
    const ada = await federatedLogin(h, 'ada');
    expect((await session(ada.cookie)).json().user.name).toBe('Ada (local)');
    // Alan's email is not verified: kept apart.
    const alan = await federatedLogin(h, 'alan');
    expect((await session(alan.cookie)).json().user.id).toBe('test:alan');
  });

  it('a new federated login replaces the session the browser had (fixation)', async () => {
    h = await oidcHarness();
    const first = await federatedLogin(h, 'ada');
    const start = await h.gw.inject({ method: 'GET', url: '/auth/login?provider=test', headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie: first.cookie } });
    expect(start.statusCode).toBe(302);
    expect((await session(first.cookie)).statusCode).toBe(200);
    const second = await federatedLogin(h, 'ada');
    expect(second.cookie).not.toBe(first.cookie);
  });
});
