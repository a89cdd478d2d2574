import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { DEVICE_COOKIE_MAX_AGE_SECONDS, deviceCookie } from '../cookies/definitions.js';
import type { RequestCookies } from '../cookies/request-cookies.js';
import { serializeCookie } from '../cookies/set-cookie.js';
import type { KeyRing, SecretKey } from '../keys/keyring.js';
import { subkey } from '../keys/subkey.js';
import { normalizeUsername } from './account-fields.js';

/**
 * Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): after a
 * successful sign-in the browser gets a token bound to the account, so that later sign-ins from
 * that browser can be told apart from a flood or a guessing attack coming from elsewhere. Such a
 * sign-in goes into the reserved lane of the sign-in scheduler and is not subject to the lockouts
 * of untrusted clients; it is locked out on its own after too many failures (throttle.ts). It
 * never replaces the password check.
 *
 * A token is `<kid>.<nonce>.<issued>.<mac>`: HMAC-SHA256 with the 'device-cookie' subkey
 * (keys/subkey.ts) of the key ring's key `kid` over the normalised username, the random nonce and
 * the issue time (as csrf/token.ts authenticates its tokens, under its own subkey). The username itself is not in the cookie: a token verifies only for the username that
 * is being signed in, so a token for another account gives nothing, and the cookie says nothing
 * about who uses this browser. One cookie holds the tokens of the last {@link MAX_DEVICE_TOKENS}
 * accounts signed in from this browser, newest first (a shared computer keeps a bounded list).
 */
export interface DeviceCookies {
  /** The cookie's name: `__Host-<session cookie name>-device` (cookies/definitions.ts). */
  readonly name: string;
  /**
   * The nonce of a valid, unexpired token for `username` in the request's cookies, or undefined
   * (no cookie, tampered, another account's, a key unknown or retired, expired).
   */
  trusted(cookies: RequestCookies, username: string): string | undefined;
  /** The `Set-Cookie` value after a successful sign-in of `username`: a fresh token first, that account's older ones dropped. */
  issue(cookies: RequestCookies, username: string): string;
}

/** Accounts remembered per browser. */
export const MAX_DEVICE_TOKENS = 5;
/** A cookie longer than MAX_DEVICE_TOKENS tokens could be is not ours: not even split. */
const MAX_COOKIE_LENGTH = 1024;
const TOKEN = /^([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{22})\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/;

interface Token {
  raw: string;
  kid: string;
  nonce: string;
  issued: number;
  mac: string;
}

function mac(key: SecretKey, username: string, nonce: string, issued: string): string {
  // A subkey of its own, so a CSRF token's MAC (csrf/token.ts) is never a device token's; the
  // prefix keeps the message apart as well.
  return createHmac('sha256', subkey(key, 'device-cookie'))
    .update(`gatehouse-device\0${normalizeUsername(username)}\0${nonce}\0${issued}`)
    .digest('base64url');
}

export function createDeviceCookies(keys: KeyRing, sessionCookieName: string, clock: Clock = systemClock): DeviceCookies {
  const cookie = deviceCookie(sessionCookieName);
  const name = cookie.name;

  function tokens(cookies: RequestCookies): Token[] {
    const value = cookies.first(name);
    if (!value || value.length > MAX_COOKIE_LENGTH) return [];
    const out: Token[] = [];
    for (const raw of value.split('~').slice(0, MAX_DEVICE_TOKENS)) {
      const m = TOKEN.exec(raw);
      if (m) out.push({ raw, kid: m[1] as string, nonce: m[2] as string, issued: Number.parseInt(m[3] as string, 36), mac: m[4] as string });
    }
    return out;
  }

  function verifies(token: Token, username: string): boolean {
    const key = keys.find(token.kid);
    if (!key) return false;
    // The cookie's Max-Age is the browser's business; the server enforces the lifetime itself.
    const ageSeconds = clock() / 1000 - token.issued;
    if (ageSeconds < 0 || ageSeconds > DEVICE_COOKIE_MAX_AGE_SECONDS) return false;
    const expected = Buffer.from(mac(key, username, token.nonce, token.issued.toString(36)));
    const given = Buffer.from(token.mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  return {
    name,
    trusted(cookies, username) {
      return tokens(cookies).find((t) => verifies(t, username))?.nonce;
    },
    issue(cookies, username) {
      const nonce = randomBytes(16).toString('base64url');
      const issued = Math.floor(clock() / 1000).toString(36);
      const fresh = `${keys.current.kid}.${nonce}.${issued}.${mac(keys.current, username, nonce, issued)}`;
      // OWASP: a new device cookie on every successful sign-in; the account's old one goes.
      const others = tokens(cookies).filter((t) => !verifies(t, username)).map((t) => t.raw);
      const value = [fresh, ...others].slice(0, MAX_DEVICE_TOKENS).join('~');
      // __Host-, HttpOnly, SameSite=Strict: cookies/definitions.ts.
      return serializeCookie(cookie, value);
    },
  };
}
