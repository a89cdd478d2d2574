import { describe, expect, it } from 'vitest';
import { SessionCookie } from '../../src/cookies/session-cookie.js';
import { checkRequestOrigin, hasCsrfHeader, isCrossSiteSubresource } from '../../src/csrf/check.js';
import { antiForgeryToken, verifyAntiForgeryToken } from '../../src/csrf/token.js';
import { createKeyRing, generateKey } from '../../src/keys/keyring.js';
import { loginRedirect } from '../../src/http/request.js';
import { spaCacheControl } from '../../src/static/cache.js';
import { generateSessionToken, isWellFormedToken, sessionIdFromToken } from '../../src/session/token.js';

const base = { name: '__Host-gatehouse', sameSite: 'strict', secure: true, httpOnly: true, path: '/' } as const;

describe('SessionCookie', () => {
  it('refuses to build a cookie that breaks the __Host- / __Secure- prefix rules', () => {
    expect(() => new SessionCookie({ ...base, secure: false })).toThrow(/__Host-/);
    expect(() => new SessionCookie({ ...base, path: '/app' })).toThrow(/__Host-/);
    expect(() => new SessionCookie({ ...base, domain: 'example.com' })).toThrow(/__Host-/);
    expect(() => new SessionCookie({ ...base, name: '__Secure-x', secure: false })).toThrow(/__Secure-/);
  });

  it('caps Max-Age at 400 days (RFC 6265bis)', () => {
    const cookie = new SessionCookie({ ...base, maxAgeSeconds: 10 ** 9 });
    expect(cookie.serialize('t')).toContain(`Max-Age=${400 * 86400};`);
  });

  it('reads only its own cookie and ignores oversized values', () => {
    const cookie = new SessionCookie(base);
    expect(cookie.read('a=1; __Host-gatehouse=abc; b=2')).toBe('abc');
    expect(cookie.read('__host-gatehouse=abc')).toBeUndefined();
    expect(cookie.read(`__Host-gatehouse=${'x'.repeat(257)}`)).toBeUndefined();
    expect(cookie.read(undefined)).toBeUndefined();
  });
});

describe('loginRedirect', () => {
  it('keeps only the path and query, whatever the request target', () => {
    expect(loginRedirect('/files/a.txt?x=1', '/', 'https://app.example')).toBe('/?returnTo=%2Ffiles%2Fa.txt%3Fx%3D1');
    expect(loginRedirect('http://evil.example/files/a.txt', '/login', 'https://app.example')).toBe('/login?returnTo=%2Ffiles%2Fa.txt');
    expect(loginRedirect('//evil.example/files', '/', 'https://app.example')).toBe('/?returnTo=%2Ffiles');
  });
});

describe('static cache policy', () => {
  it('treats only content-hashed names as immutable', () => {
    for (const name of ['index-3f2a9c1b.js', 'app.CfE8x_2k.css', 'chunk-BXk3mP9q.mjs', 'logo.5d41402abc4b.svg']) {
      expect(spaCacheControl(`/dist/assets/${name}`), name).toBe('public, max-age=31536000, immutable');
    }
    for (const name of ['user-settings.js', 'terms-conditions.pdf', 'apple-touch-icon-precomposed.png', 'index.html', 'app.js']) {
      expect(spaCacheControl(`/dist/${name}`), name).toBe('no-cache');
    }
  });
});

describe('session tokens', () => {
  it('are 256-bit base64url, unique, and stored only as a hash', () => {
    const tokens = new Set(Array.from({ length: 1000 }, generateSessionToken));
    expect(tokens.size).toBe(1000);
    for (const t of tokens) expect(isWellFormedToken(t)).toBe(true);
    const [t] = tokens as unknown as [string];
    expect(sessionIdFromToken(t)).not.toBe(t);
    expect(sessionIdFromToken(t)).toHaveLength(43);
    expect(isWellFormedToken(`${t}=`)).toBe(false);
  });
});

describe('CSRF checks', () => {
  const origin = 'https://app.example';
  it('same-origin only when the headers are present', () => {
    expect(checkRequestOrigin({}, origin)).toBeNull();
    expect(checkRequestOrigin({ origin, secFetchSite: 'same-origin' }, origin)).toBeNull();
    expect(checkRequestOrigin({ origin: 'null' }, origin)).toBe('origin_mismatch');
    expect(checkRequestOrigin({ origin: 'https://app.example.evil' }, origin)).toBe('origin_mismatch');
    expect(checkRequestOrigin({ origin, secFetchSite: 'same-site' }, origin)).toBe('cross_site_fetch');
    expect(checkRequestOrigin({ origin, secFetchSite: 'none' }, origin)).toBe('cross_site_fetch');
  });

  it('the custom header must be exactly 1', () => {
    expect(hasCsrfHeader('1')).toBe(true);
    for (const v of [undefined, '', '0', 'true', ['1', '1']]) expect(hasCsrfHeader(v)).toBe(false);
  });

  it('resource isolation allows navigations and same-origin, refuses cross-site embedding', () => {
    expect(isCrossSiteSubresource({})).toBe(false);
    expect(isCrossSiteSubresource({ secFetchSite: 'same-origin', secFetchMode: 'no-cors' })).toBe(false);
    expect(isCrossSiteSubresource({ secFetchSite: 'cross-site', secFetchMode: 'navigate' })).toBe(false);
    expect(isCrossSiteSubresource({ secFetchSite: 'cross-site', secFetchMode: 'no-cors' })).toBe(true);
    expect(isCrossSiteSubresource({ secFetchSite: 'same-site', secFetchMode: 'cors' })).toBe(true);
  });

  it('anti-forgery tokens are bound to the session and survive a key rotation', () => {
    const old = generateKey();
    const ring = createKeyRing([old]);
    const token = antiForgeryToken(ring, 'session-a');
    expect(verifyAntiForgeryToken(ring, 'session-a', token)).toBe(true);
    expect(verifyAntiForgeryToken(ring, 'session-b', token)).toBe(false);
    const rotated = createKeyRing([generateKey(), old]);
    expect(verifyAntiForgeryToken(rotated, 'session-a', token)).toBe(true);
    expect(antiForgeryToken(rotated, 'session-a')).not.toBe(token);
    expect(verifyAntiForgeryToken(createKeyRing([generateKey()]), 'session-a', token)).toBe(false);
  });
});

describe('request log', () => {
  it('never records a query string (authorization codes travel in the callback query)', async () => {
    const { requestForLog } = await import('../../src/http/request-log.js');
    expect(requestForLog({ method: 'GET', url: '/auth/callback/corp?code=SECRET&state=x', ip: '203.0.113.1' })).toEqual({
      method: 'GET',
      url: '/auth/callback/corp?…',
      remoteAddress: '203.0.113.1',
      reqId: undefined,
    });
    expect(requestForLog({ method: 'GET', url: '/plain' }).url).toBe('/plain');
  });
});
