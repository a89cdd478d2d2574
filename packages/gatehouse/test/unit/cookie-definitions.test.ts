import { describe, expect, it } from 'vitest';
import { deviceCookie, sessionCookie, transactionCookie } from '../../src/cookies/definitions.js';
import { parseCookies, requestCookies } from '../../src/cookies/request-cookies.js';
import { checkCookie, defineCookie, expireCookie, serializeCookie } from '../../src/cookies/set-cookie.js';

const host = { httpOnly: true, sameSite: 'strict', secure: true, path: '/' } as const;

describe('the one cookie serializer (cookies/set-cookie.ts)', () => {
  it('RFC 6265bis §4.1.3.2 / §4.1.3.1: a __Host- or __Secure- cookie without its rules does not compile, and throws if forced', () => {
    // The compiler refuses each of these (the @ts-expect-error lines fail `tsc` if it ever accepts one).
    // @ts-expect-error __Host- requires Secure
    expect(() => defineCookie({ ...host, name: '__Host-a', secure: false })).toThrow(/__Host-/);
    // @ts-expect-error __Host- requires Path=/
    expect(() => defineCookie({ ...host, name: '__Host-a', path: '/app' })).toThrow(/__Host-/);
    // @ts-expect-error __Host- forbids Domain
    expect(() => defineCookie({ ...host, name: '__Host-a', domain: 'example.com' })).toThrow(/__Host-/);
    // @ts-expect-error __Secure- requires Secure
    expect(() => defineCookie({ ...host, name: '__Secure-a', secure: false, path: '/app' })).toThrow(/__Secure-/);
    const runtimeName: string = '__Host-a';
    // @ts-expect-error a name known only at run time must go through checkCookie
    defineCookie({ ...host, name: runtimeName });
    expect(() => checkCookie({ ...host, name: runtimeName, secure: false })).toThrow(/__Host-/);
    expect(defineCookie({ ...host, name: '__Secure-a', path: '/app' }).path).toBe('/app');
  });

  it('RFC 6265bis §5.5: caps Max-Age at 400 days; a per-write Max-Age only shortens it', () => {
    const cookie = defineCookie({ ...host, name: '__Host-a', maxAgeSeconds: 10 ** 9 });
    expect(serializeCookie(cookie, 'v')).toBe(`__Host-a=v; Max-Age=${400 * 86400}; Path=/; HttpOnly; Secure; SameSite=Strict`);
    expect(serializeCookie(cookie, 'v', 60)).toContain('Max-Age=60;');
    expect(serializeCookie(cookie, 'v', 10 ** 10)).toContain(`Max-Age=${400 * 86400};`);
    expect(serializeCookie(defineCookie({ ...host, name: '__Host-b' }), 'v', 60)).not.toContain('Max-Age');
    expect(expireCookie(cookie)).toBe('__Host-a=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict');
  });
});

describe('the cookies Gatehouse writes (cookies/definitions.ts)', () => {
  it('RFC 6265bis §4.1.3.2: session, login transaction and device cookies are __Host-, HttpOnly, Secure, Path=/', () => {
    const session = sessionCookie({ ...host, name: '__Host-gatehouse', maxAgeSeconds: 3600 });
    expect(serializeCookie(session, 't')).toBe('__Host-gatehouse=t; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Strict');
    // Lax: the provider's redirect back is a cross-site top-level navigation (RFC 6265bis §8.8.2).
    expect(serializeCookie(transactionCookie('__Host-gatehouse-tx-abc'), 'jwe')).toBe('__Host-gatehouse-tx-abc=jwe; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Lax');
    expect(serializeCookie(deviceCookie('__Host-gatehouse'), 'd')).toBe(`__Host-gatehouse-device=d; Max-Age=${365 * 86400}; Path=/; HttpOnly; Secure; SameSite=Strict`);
    expect(() => sessionCookie({ ...host, name: '__Host-gatehouse', domain: 'example.com' })).toThrow(/__Host-/);
  });
});

describe('the Cookie header, parsed once per request (cookies/request-cookies.ts)', () => {
  it('reads values as sent; two different copies of one name are no value (OWASP Session Management: session fixation)', () => {
    const cookies = parseCookies('a=%41; __Host-s=1; b="q"; __Host-s=1');
    expect(cookies.first('a')).toBe('%41');
    expect(cookies.first('b')).toBe('"q"');
    expect(cookies.only('__Host-s')).toBe('1');
    expect(parseCookies('__Host-s=1; __Host-s=2').only('__Host-s')).toBeUndefined();
    expect(parseCookies('__Host-s=1; __Host-s=2').first('__Host-s')).toBe('1');
    expect(parseCookies('x-tx-a=1; y=2; x-tx-b=3').startingWith('x-tx-')).toEqual([['x-tx-a', '1'], ['x-tx-b', '3']]);
    expect(parseCookies(undefined).first('a')).toBeUndefined();
  });

  it('hands every reader of one request the same parse, and parses again only if the header changed', () => {
    const message = { headers: { cookie: 'a=1' } } as unknown as import('node:http').IncomingMessage;
    const first = requestCookies(message);
    expect(requestCookies({ raw: message })).toBe(first);
    message.headers.cookie = 'a=2';
    expect(requestCookies(message)).not.toBe(first);
    expect(requestCookies(message).first('a')).toBe('2');
  });
});
