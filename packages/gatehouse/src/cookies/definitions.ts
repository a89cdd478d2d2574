import { type CookieDefinition, checkCookie, defineCookie } from './set-cookie.js';

/**
 * Every cookie Gatehouse writes, defined here and nowhere else. Each name starts with the session
 * cookie's (`__Host-gatehouse`, `__Host-gatehouse-tx-…`, `__Host-gatehouse-device`), so the
 * proxy's "never forward, never let an upstream set Gatehouse's cookies" rule (proxy/headers.ts)
 * covers them all by that one prefix.
 */

/** The session cookie's attributes as configured (`session.cookie`, validated at start-up by config/checks/cookie.ts). */
export interface SessionCookieSettings {
  name: string;
  sameSite: 'strict' | 'lax' | 'none';
  secure: boolean;
  httpOnly: boolean;
  path: string;
  domain?: string | undefined;
  /** Max-Age in seconds, or undefined for a browser-session cookie. */
  maxAgeSeconds?: number | undefined;
}

/**
 * The session cookie. Its name comes from the configuration, so the prefix rules are checked at
 * run time (again: config/checks/cookie.ts checked them already): a TypeError at start-up rather
 * than a weaker cookie than the one validated.
 */
export function sessionCookie(settings: SessionCookieSettings): CookieDefinition {
  return checkCookie(settings);
}

/** A login that takes longer than this starts again (the transaction cookie's Max-Age). */
export const TRANSACTION_COOKIE_MAX_AGE_SECONDS = 10 * 60;

/** The prefix of every login transaction cookie's name: `<session cookie>-tx-`. */
export function transactionCookiePrefix(sessionCookieName: string): string {
  return `${sessionCookieName}-tx-`;
}

/**
 * A login transaction cookie (oidc/transaction.ts), one per login in flight. HttpOnly, Secure,
 * Path=/ and SameSite=Lax: the provider's redirect back is a cross-site top-level navigation,
 * which Strict would strip (RFC 6265bis §8.8.2). Named after the session cookie, so it is
 * `__Host-` prefixed whenever the session cookie is (always, once the configuration is valid).
 */
export function transactionCookie(name: string): CookieDefinition {
  return checkCookie({
    name,
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    path: '/',
    maxAgeSeconds: TRANSACTION_COOKIE_MAX_AGE_SECONDS,
  });
}

/** How long a device stays trusted: OWASP suggests long-lived; RFC 6265bis §5.5 caps at 400 days. */
export const DEVICE_COOKIE_MAX_AGE_SECONDS = 365 * 24 * 60 * 60;

/** `__Host-gatehouse` → `__Host-gatehouse-device`; a name without a prefix gets one (RFC 6265bis §4.1.3.2). */
export function deviceCookieName(sessionCookieName: string): `__Host-${string}-device` {
  const base = sessionCookieName.replace(/^__(Host|Secure)-/, '');
  return `__Host-${base}-device`;
}

/**
 * The device cookie (local/device-cookie.ts). `__Host-` whatever the session cookie is called:
 * Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2). HttpOnly: scripts never need it.
 * SameSite=Strict: only same-site sign-in requests carry it.
 */
export function deviceCookie(sessionCookieName: string): CookieDefinition {
  return defineCookie({
    name: deviceCookieName(sessionCookieName),
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: '/',
    maxAgeSeconds: DEVICE_COOKIE_MAX_AGE_SECONDS,
  });
}
