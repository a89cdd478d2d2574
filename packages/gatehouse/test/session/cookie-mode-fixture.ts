/**
 * Shared by the cookie-mode test files (cookie-mode-*.test.ts): a gateway in `session.mode:
 * "cookie"` on a fake clock, the exact refusal every attack must get, and readers for the sealed
 * cookie (its value, its parts, its protected header, its payload opened with the gateway's keys).
 */
import type { LightMyRequestResponse } from 'fastify';
import { decodeProtectedHeader, type CompactJWEHeaderParameters } from 'jose';
import { expect } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { createKeyRing, generateKey, type KeyRing } from '../../src/keys/keyring.js';
import { unseal } from '../../src/keys/seal.js';
import { createGatehouse, type GatehouseDeps } from '../../src/server.js';
import type { CookiePayload } from '../../src/session/cookie-payload.js';
import type { SessionStore } from '../../src/session/model.js';
import { PASSWORD, SAME_ORIGIN, SITE, setCookies, testClock, testConfigInput, type TestClock, type TestGateway } from '../helpers/gateway.js';

export const BASE = '__Host-gatehouse';
/** The body of every refusal: nothing about the session, the user or the reason. */
export const UNAUTHENTICATED = { error: 'unauthenticated', message: 'Sign-in required.' };
/** Cookie mode with the timeouts the files reason about: touch interval 60 s, revalidation 5 min. */
export const COOKIE_SESSION = { store: 'memory', mode: 'cookie', idleTimeout: '30m', absoluteTimeout: '12h', revalidateEvery: '5m' } as const;
export const MINUTE = 60_000;
export const REVALIDATE = 5 * MINUTE;
export const IDLE = 30 * MINUTE;

export interface CookieGatewayOptions {
  /** Merged over {@link COOKIE_SESSION}. */
  session?: Partial<NonNullable<GatehouseConfigInput['session']>> & Record<string, unknown>;
  /** Other config keys (local, providers, redis …). */
  config?: Partial<GatehouseConfigInput>;
  deps?: GatehouseDeps;
  /** A clock shared with another gateway (two instances, a restart); default a new one. */
  clock?: TestClock;
  /** The session store, built on the gateway's clock (a counting wrapper, say). */
  store?: (clock: TestClock) => SessionStore;
  /** Add alice and bob (default true). False for a second instance on the same account store. */
  seed?: boolean;
}

/**
 * A gateway in cookie mode on a fake clock, like testGateway (helpers/gateway.ts) but able to
 * share a clock and an account store with another one, which two instances or a restart need.
 */
export async function cookieGateway(options: CookieGatewayOptions = {}): Promise<TestGateway> {
  const clock = options.clock ?? testClock();
  const input = testConfigInput({ session: { ...COOKIE_SESSION, ...options.session } as GatehouseConfigInput['session'], ...options.config });
  const config = resolveConfig(input, { baseDir: SITE, env: {} });
  const gatehouse = await createGatehouse(config, {
    clock,
    keys: createKeyRing([generateKey(clock())]),
    logger: false,
    ...(options.store ? { store: options.store(clock) } : {}),
    ...options.deps,
  });
  const accounts = gatehouse.local?.accounts;
  if (accounts && options.seed !== false) {
    await accounts.add({ username: 'alice', password: PASSWORD, name: 'Alice', roles: ['user'] });
    await accounts.add({ username: 'bob', password: PASSWORD, name: 'Bob', roles: ['user', 'admin'] });
  }
  await gatehouse.app.ready();
  return { gatehouse, clock, inject: gatehouse.app.inject.bind(gatehouse.app), close: () => gatehouse.close() };
}

/** A key ring on the gateway's clock, newest first, with a grace period for the older keys. */
export function ringOf(clock: TestClock, keys = [generateKey(clock())], gracePeriodMs?: number): KeyRing {
  return createKeyRing(keys, { clock, ...(gracePeriodMs !== undefined ? { gracePeriodMs } : {}) });
}

/** GET `url` as the SPA's fetch would, with `cookie` as the whole Cookie header. */
export function get(gw: TestGateway, cookie: string | undefined, url = '/auth/session'): Promise<LightMyRequestResponse> {
  return gw.inject({ method: 'GET', url, headers: { ...SAME_ORIGIN, ...(cookie !== undefined ? { cookie } : {}) } });
}

/** An unsafe same-origin fetch (the CSRF gate's X-CSRF and Origin included). */
export function send(gw: TestGateway, method: 'POST' | 'DELETE', url: string, cookie: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return gw.inject({ method, url, headers: { ...SAME_ORIGIN, cookie }, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
}

/** `name=value` pairs of a Cookie header, in order (duplicates kept). */
export function pairs(cookie: string): [string, string][] {
  return cookie.split('; ').map((pair) => {
    const at = pair.indexOf('=');
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
}

/** The sealed session a Cookie header carries: the base value, or its parts joined. */
export function sealedOf(cookie: string): string {
  const all = pairs(cookie);
  const base = all.find(([name]) => name === BASE)?.[1];
  if (base === undefined) throw new Error('no session cookie in the header');
  if (!base.startsWith('chunks-')) return base;
  return all
    .filter(([name]) => name.startsWith(`${BASE}-c`))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, value]) => value)
    .join('');
}

/** The Cookie header a browser would send for one sealed value that fits a single cookie. */
export const single = (value: string) => `${BASE}=${value}`;

export function headerOf(cookie: string): CompactJWEHeaderParameters {
  return decodeProtectedHeader(sealedOf(cookie)) as CompactJWEHeaderParameters;
}

/** The payload the cookie carries, opened with the gateway's own keys (null when it does not open). */
export function payloadOf(gw: TestGateway, cookie: string): Promise<CookiePayload | null> {
  return unseal<CookiePayload>(gw.gatehouse.keys, 'session-cookie', sealedOf(cookie));
}

/**
 * The exact refusal of a cookie that is no session: 401 with nothing but the error, and the
 * session cookie expired in the same answer, with every chunk the request sent (`chunks`: their
 * numbers), and no Set-Cookie that carries a value (no session re-issued, nothing minted).
 */
export function expectRefused(res: LightMyRequestResponse, chunks: number[] = []): void {
  expect(res.statusCode, res.body).toBe(401);
  expect(res.json()).toEqual(UNAUTHENTICATED);
  const cookies = setCookies(res);
  const expected = [BASE, ...chunks.map((n) => `${BASE}-c${n}`)];
  expect(cookies.map((c) => c.split('=', 1)[0]).sort()).toEqual(expected.sort());
  for (const header of cookies) expectCleared(header);
}

/** One Set-Cookie that expires a session cookie, with the attributes it was written with. */
export function expectCleared(header: string): void {
  expect(header).toMatch(/^__Host-gatehouse(-c[1-9])?=;/);
  expect(header).toContain('Max-Age=0');
  expectSessionAttributes(header);
}

/** HttpOnly, Secure, SameSite=Strict, Path=/ and no Domain: what a `__Host-` session cookie needs. */
export function expectSessionAttributes(header: string): void {
  const attributes = header.split('; ').slice(1);
  expect(header.startsWith('__Host-')).toBe(true);
  expect(attributes).toEqual(expect.arrayContaining(['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']));
  expect(attributes.some((a) => /^domain=/i.test(a))).toBe(false);
}

/** The Set-Cookie headers that write a session cookie with a value (a session issued or re-issued). */
export function written(res: LightMyRequestResponse): string[] {
  return setCookies(res).filter((c) => /^__Host-gatehouse(-c[1-9])?=[^;]/.test(c));
}

/** The Cookie header the browser holds after `res`, starting from `before`: set values replace, Max-Age=0 removes. */
export function jarAfter(before: string, res: LightMyRequestResponse): string {
  const jar = new Map(pairs(before));
  for (const header of setCookies(res)) {
    const [pair] = header.split(';', 1) as [string];
    const at = pair.indexOf('=');
    const name = pair.slice(0, at);
    if (!name.startsWith(BASE) || name.startsWith(`${BASE}-device`)) continue;
    if (/Max-Age=0/.test(header)) jar.delete(name);
    else jar.set(name, pair.slice(at + 1));
  }
  return [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
}

/**
 * `n` distinct roles of 63 characters (the longest a role may be is 64): what a directory-synced
 * account with many group memberships looks like. 60 of them seal to about 5.8 kB, two chunks; 100
 * are over the default 8192-byte ceiling.
 */
export function manyRoles(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `group-${String(i).padStart(3, '0')}-${'x'.repeat(53)}`);
}
