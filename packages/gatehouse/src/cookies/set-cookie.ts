import { serialize } from 'cookie';

/** A name the browser only accepts with Secure, Path=/ and no Domain (RFC 6265bis §4.1.3.2). */
export type HostCookieName = `__Host-${string}`;
/** A name the browser only accepts with Secure (RFC 6265bis §4.1.3.1). */
export type SecureCookieName = `__Secure-${string}`;

/** RFC 6265bis §5.5: user agents cap a cookie's lifetime at 400 days; we never ask for more. */
export const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 60 * 60;

interface CookieAttributes {
  httpOnly: boolean;
  sameSite: 'strict' | 'lax' | 'none';
  /** Max-Age in seconds (capped at {@link MAX_COOKIE_AGE_SECONDS}), or undefined for a browser-session cookie. */
  maxAgeSeconds?: number | undefined;
}

/** What RFC 6265bis §4.1.3.2 demands of a `__Host-` cookie. */
interface HostRules {
  secure: true;
  path: '/';
  domain?: undefined;
}
/** What RFC 6265bis §4.1.3.1 demands of a `__Secure-` cookie. */
interface SecureRules {
  secure: true;
  path: string;
  domain?: string | undefined;
}
interface UnprefixedRules {
  secure: boolean;
  path: string;
  domain?: string | undefined;
}

/**
 * The attributes a cookie named `N` must carry. A name only known at run time (`string`) gets
 * `never`: such a cookie goes through {@link checkCookie}, which enforces the same rules then.
 */
export type PrefixRules<N extends string> = string extends N
  ? never
  : N extends HostCookieName
    ? HostRules
    : N extends SecureCookieName
      ? SecureRules
      : UnprefixedRules;

/** A cookie as written, before its prefix rules were checked. */
export type CookieSpec<N extends string> = { name: N } & CookieAttributes & PrefixRules<N>;

declare const checked: unique symbol;

/**
 * A cookie whose name and attributes satisfy the prefix rules. Only {@link defineCookie} (checked
 * by the compiler) and {@link checkCookie} (checked at run time) make one, and
 * {@link serializeCookie} takes nothing else: no code path can write a weaker cookie.
 */
export type CookieDefinition = Readonly<{ name: string } & CookieAttributes & UnprefixedRules> & { readonly [checked]: true };

/**
 * A cookie whose name the compiler knows (a literal or a template such as
 * `` `__Host-${string}-device` ``): a `__Host-` cookie without `secure: true`, `path: '/'` and no
 * domain, or a `__Secure-` one without `secure: true`, does not compile. Checked again at run
 * time, for callers that cast.
 */
export function defineCookie<const N extends string>(spec: CookieSpec<N>): CookieDefinition {
  return checkCookie(spec as CookieAttributes & UnprefixedRules & { name: string });
}

/**
 * A cookie whose name is only known at run time (the configured session cookie name, the login
 * transaction names derived from it): the prefix rules are enforced here, throwing a TypeError,
 * so a misconfigured cookie stops the start-up instead of being written.
 */
export function checkCookie(spec: { name: string } & CookieAttributes & UnprefixedRules): CookieDefinition {
  // RFC 6265bis §4.1.3.2: __Host- requires Secure, Path=/ and no Domain.
  if (spec.name.startsWith('__Host-') && (!spec.secure || spec.path !== '/' || spec.domain)) {
    throw new TypeError(`cookie ${spec.name}: the __Host- prefix requires Secure, Path=/ and no Domain`);
  }
  // RFC 6265bis §4.1.3.1: __Secure- requires Secure.
  if (spec.name.startsWith('__Secure-') && !spec.secure) {
    throw new TypeError(`cookie ${spec.name}: the __Secure- prefix requires Secure`);
  }
  const maxAgeSeconds = spec.maxAgeSeconds === undefined ? undefined : Math.min(spec.maxAgeSeconds, MAX_COOKIE_AGE_SECONDS);
  return Object.freeze({
    name: spec.name,
    httpOnly: spec.httpOnly,
    secure: spec.secure,
    sameSite: spec.sameSite,
    path: spec.path,
    domain: spec.domain || undefined,
    maxAgeSeconds,
  }) as CookieDefinition;
}

function attributes(cookie: CookieDefinition) {
  return {
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
    sameSite: cookie.sameSite,
    path: cookie.path,
    ...(cookie.domain ? { domain: cookie.domain } : {}),
  };
}

/**
 * The `Set-Cookie` value that stores `value` in `cookie`, with the `cookie` package's serializer.
 * `maxAgeSeconds` shortens the lifetime for this one write (a session that ends sooner than the
 * cookie would); it never lengthens it, nor gives a browser-session cookie one.
 */
export function serializeCookie(cookie: CookieDefinition, value: string, maxAgeSeconds?: number): string {
  const maxAge =
    cookie.maxAgeSeconds !== undefined && maxAgeSeconds !== undefined
      ? Math.max(0, Math.min(maxAgeSeconds, cookie.maxAgeSeconds))
      : cookie.maxAgeSeconds;
  return serialize(cookie.name, value, { ...attributes(cookie), ...(maxAge !== undefined ? { maxAge } : {}) });
}

/**
 * The `Set-Cookie` value that removes `cookie`: the same attributes (the browser replaces only the
 * cookie of the same name, domain and path, RFC 6265bis storage model; anything else and it keeps
 * the original), Max-Age=0, and an Expires in the past for user agents that ignore Max-Age.
 */
export function expireCookie(cookie: CookieDefinition): string {
  return serialize(cookie.name, '', { ...attributes(cookie), maxAge: 0, expires: new Date(0) });
}
