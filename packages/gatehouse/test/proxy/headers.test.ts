// What each kind of route hands the upstream, checked against a real echo upstream.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, ORIGIN, SAME_ORIGIN } from '../helpers/gateway.js';
import type { Seen } from './echo.js';
import { type ProxyFixture, proxyFixture } from './setup.js';

let f: ProxyFixture;
let alice: string;
let bob: string;

beforeAll(async () => {
  f = await proxyFixture();
  alice = await login(f.gw, 'alice');
  bob = await login(f.gw, 'bob');
});
afterAll(() => f.close());

/** Headers a hostile or careless client sends, all of which must be dropped or replaced. */
const CLIENT_JUNK = {
  authorization: 'Bearer client-chosen',
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'http',
  forwarded: 'for=6.6.6.6;host=evil.example',
  'x-real-ip': '6.6.6.6',
  'x-gatehouse-user': 'admin',
  'x-gatehouse-roles': 'admin',
  'proxy-authorization': 'Basic Zm9vOmJhcg==',
  'x-csrf-token': 'some-token',
  'x-http-method-override': 'DELETE',
  'x-original-url': '/admin',
  'true-client-ip': '6.6.6.6',
  'x-remote-user': 'root',
  'x-auth-request-user': 'root',
  'x-custom': 'kept',
} as const;

async function call(url: string, cookie: string | undefined, extra: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET', payload?: string) {
  const before = f.echo.seen.length;
  const res = await f.gw.inject({
    method,
    url,
    headers: { ...SAME_ORIGIN, ...CLIENT_JUNK, ...(cookie ? { cookie: `${cookie}; theme=dark; tracking=1` } : {}), ...extra },
    ...(payload !== undefined ? { payload } : {}),
  });
  const seen = f.echo.seen.slice(before);
  return { res, seen: seen[0] as Seen | undefined, count: seen.length };
}

function expectNoClientJunk(seen: Seen) {
  for (const name of ['forwarded', 'x-real-ip', 'x-gatehouse-roles', 'proxy-authorization', 'x-csrf', 'x-csrf-token', 'x-http-method-override', 'x-original-url', 'true-client-ip', 'x-remote-user', 'x-auth-request-user']) {
    expect(seen.headers[name], name).toBeUndefined();
  }
  expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  expect(seen.headers['x-forwarded-proto']).toBe('https');
  expect(seen.headers['x-forwarded-host']).toBe('gatehouse.test');
  expect(seen.headers.authorization).not.toBe('Bearer client-chosen');
  expect(seen.headers['x-gatehouse-user']).not.toBe('admin');
  expect(seen.headers['x-custom']).toBe('kept');
  expect(seen.headers.host).toBe(new URL(f.echo.origin).host);
}

describe('auth "none", token "none"', () => {
  it('forwards to the upstream base path with no cookie, no Authorization and no identity', async () => {
    const { res, seen } = await call('/api/open/items/7?q=a%20b&x=1', alice);
    expect(res.statusCode).toBe(200);
    expect(seen?.path).toBe('/base/items/7?q=a%20b&x=1');
    expect(seen?.headers.cookie).toBeUndefined();
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers['x-gatehouse-user']).toBeUndefined();
    expectNoClientJunk(seen as Seen);
  });

  it('the route path itself maps to the upstream base', async () => {
    const { seen } = await call('/api/open', undefined);
    expect(seen?.path).toBe('/base');
  });
});

describe('auth "required", token "none"', () => {
  it('401 without a session, and the upstream sees nothing', async () => {
    const { res, count } = await call('/api/plain/x', undefined);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'unauthenticated' });
    expect(count).toBe(0);
  });

  it('with a session: the user id, and neither the session cookie nor any other cookie', async () => {
    const { res, seen } = await call('/api/plain/x', alice);
    expect(res.statusCode).toBe(200);
    expect(seen?.path).toBe('/x');
    expect(seen?.headers.cookie).toBeUndefined();
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers['x-gatehouse-user']).toBe((await f.gw.inject({ url: '/auth/session', headers: { cookie: alice } })).json().user.id);
    expectNoClientJunk(seen as Seen);
  });

  it('roles: 403 for a user without the role, forwarded for one with it', async () => {
    const denied = await call('/api/admin/x', alice);
    expect(denied.res.statusCode).toBe(403);
    expect(denied.res.json()).toMatchObject({ error: 'forbidden' });
    expect(denied.count).toBe(0);
    const allowed = await call('/api/admin/x', bob);
    expect(allowed.res.statusCode).toBe(200);
  });

  it('a cross-site fetch with the cookie is refused before the upstream', async () => {
    const { res, count } = await call('/api/plain/x', alice, { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors', origin: 'https://evil.example' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'cross_site_rejected' });
    expect(count).toBe(0);
  });

  it('methods: an unlisted method is 405 and never forwarded', async () => {
    const { res, count } = await call('/api/read/x', alice, {}, 'POST', '{}');
    expect(res.statusCode).toBe(405);
    expect(res.json()).toMatchObject({ error: 'method_not_allowed' });
    expect(res.headers.allow).toBe('GET');
    expect(count).toBe(0);
  });
});

describe('cookies', () => {
  it('an opted-in cookie is forwarded alone; Gatehouse cookies never', async () => {
    const { seen } = await call('/api/cookies/x', alice, { cookie: `${alice}; theme=dark; tracking=1; __Host-gatehouse-login=tx` });
    expect(seen?.headers.cookie).toBe('theme=dark');
  });

  it('Set-Cookie passes only where allowed, and never for a Gatehouse cookie name', async () => {
    const allowed = await call('/api/cookies/set-cookie', alice);
    expect(allowed.res.headers['set-cookie']).toEqual(['theme=dark; Path=/']);
    const dropped = await call('/api/plain/set-cookie', alice);
    expect(dropped.res.statusCode).toBe(200);
    expect(dropped.res.headers['set-cookie']).toBeUndefined();
  });
});

describe('response headers', () => {
  it('hop-by-hop fields and the ones Connection names are dropped; security headers stay the gateway\'s', async () => {
    const { res } = await call('/api/open/hop', undefined);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-upstream-private']).toBeUndefined();
    expect(res.headers['keep-alive']).toBeUndefined();
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('hop-by-hop request fields, and fields the client lists in Connection, are not forwarded', async () => {
    const { seen } = await call('/api/open/x', undefined, { connection: 'keep-alive, x-custom, x-drop-me', 'x-drop-me': '1', te: 'trailers', 'keep-alive': 'timeout=5' });
    expect(seen?.headers['x-drop-me']).toBeUndefined();
    expect(seen?.headers['x-custom']).toBeUndefined();
    expect(seen?.headers.te).toBeUndefined();
    expect(seen?.headers['keep-alive']).toBeUndefined();
  });
});

describe('token "internal"', () => {
  const verify = async (token: string, audience: string, at = f.gw.clock()) => {
    const jwks = (await f.gw.inject({ url: '/.well-known/jwks.json' })).json();
    return jwtVerify(token, createLocalJWKSet(jwks), { issuer: ORIGIN, audience, typ: 'at+jwt', currentDate: new Date(at) });
  };
  const bearer = (seen: Seen | undefined) => String(seen?.headers.authorization).replace(/^Bearer /, '');

  it('replaces the client Authorization with a JWT that verifies against the published JWKS (RFC 9068)', async () => {
    const { res, seen } = await call('/api/orders/42', alice);
    expect(res.statusCode).toBe(200);
    expect(seen?.path).toBe('/svc/orders/42');
    expect(seen?.headers.cookie).toBeUndefined();
    const token = bearer(seen);
    expect(token).not.toBe('client-chosen');
    const { payload, protectedHeader } = await verify(token, 'orders-api');
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: f.signingKeys.current.kid });
    expect(payload).toMatchObject({ iss: ORIGIN, aud: 'orders-api', client_id: 'gatehouse', preferred_username: 'alice', name: 'Alice', roles: ['user'] });
    expect(payload.sub).toBe(seen?.headers['x-gatehouse-user']);
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is refused for another audience and after expiry', async () => {
    const token = bearer((await call('/api/orders/1', alice)).seen);
    await expect(verify(token, 'other-api')).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
    await expect(verify(token, 'orders-api', f.gw.clock() + 301_000)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('is signed once per session and audience, reused, and renewed near expiry', async () => {
    const carol = await login(f.gw, 'alice');
    const first = bearer((await call('/api/orders/1', carol)).seen);
    const again = bearer((await call('/api/orders/2', carol)).seen);
    expect(again).toBe(first);
    const otherAudience = bearer((await call('/api/maybe/x', carol)).seen);
    expect(otherAudience).not.toBe(first);
    const otherSession = bearer((await call('/api/orders/1', alice)).seen);
    expect(otherSession).not.toBe(first);
    f.gw.clock.advance(230_000); // less than a quarter of 5 minutes left
    const renewed = bearer((await call('/api/orders/3', carol)).seen);
    expect(renewed).not.toBe(first);
    await expect(verify(renewed, 'orders-api')).resolves.toBeTruthy();
  });

  it('auth "optional": a token with a session, none without', async () => {
    const anonymous = await call('/api/maybe/x', undefined);
    expect(anonymous.res.statusCode).toBe(200);
    expect(anonymous.seen?.headers.authorization).toBeUndefined();
    expect(anonymous.seen?.headers['x-gatehouse-user']).toBeUndefined();
    const signedIn = await call('/api/maybe/x', alice);
    expect(decodeProtectedHeader(bearer(signedIn.seen)).typ).toBe('at+jwt');
  });
});

describe('CSRF on proxied routes', () => {
  it('an unsafe request without X-CSRF is refused before the upstream', async () => {
    const before = f.echo.seen.length;
    const res = await f.gw.inject({ method: 'POST', url: '/api/open/x', headers: { origin: ORIGIN, 'content-type': 'application/json', cookie: alice }, payload: '{}' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'csrf_rejected' });
    const form = await f.gw.inject({ method: 'POST', url: '/api/open/x', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: alice }, payload: 'a=1' });
    expect(form.statusCode).toBe(403);
    const crossSite = await f.gw.inject({ method: 'DELETE', url: '/api/plain/x', headers: { ...SAME_ORIGIN, origin: 'https://evil.example', cookie: alice } });
    expect(crossSite.statusCode).toBe(403);
    expect(f.echo.seen.length).toBe(before);
  });

  it('with X-CSRF the body passes through unchanged', async () => {
    const body = '{"b":2,  "a":1}';
    const { res, seen } = await call('/api/plain/x', alice, { 'content-type': 'application/json' }, 'POST', body);
    expect(res.statusCode).toBe(200);
    expect(seen?.method).toBe('POST');
    expect(seen?.body).toBe(body);
    const text = await call('/api/plain/x', alice, { 'content-type': 'text/plain' }, 'POST', 'plain text');
    expect(text.seen?.body).toBe('plain text');
  });
});

describe('the gateway\'s own paths', () => {
  it('an unlisted /api path is a 404 that reaches no upstream', async () => {
    const before = f.echo.seen.length + f.unlisted.seen.length;
    const res = await f.gw.inject({ url: '/api/unknown/x', headers: { cookie: alice } });
    expect(res.statusCode).toBe(404);
    expect(f.echo.seen.length + f.unlisted.seen.length).toBe(before);
  });
});

describe('per-user answers are never shared-cacheable', () => {
  it('turns public into private and fills a missing Cache-Control', async () => {
    const { privateCacheControl } = await import('../../src/proxy/headers.js');
    expect(privateCacheControl('')).toBe('private, no-cache');
    expect(privateCacheControl('public, max-age=600')).toBe('private, max-age=600');
    expect(privateCacheControl('s-maxage=100, public, max-age=5')).toBe('private, max-age=5');
    expect(privateCacheControl('private, max-age=5')).toBe('private, max-age=5');
    expect(privateCacheControl('no-store')).toBe('private, no-store');
  });
});
