/**
 * True for a path on the page's origin: starts with one `/`, no backslash (browsers read it as a
 * slash, so `/\evil.example` is another host) and no control character; and, normalised as the
 * browser and the gateway will (`new URL`), still a path on that origin. Dot segments and encoded
 * dots turn `/.//evil.example`, `/%2e//evil.example` and `/a/..//evil.example` into
 * `//evil.example`, another host. Anything else would make the post-sign-in redirect an open
 * redirect (RFC 9700 §4.11).
 *
 * @param origin the page's origin; default `location.origin`
 */
export function isSameOriginPath(value: string, origin = (globalThis as { location?: Location }).location?.origin ?? 'http://localhost'): boolean {
  if (typeof value !== 'string' || value.length > 2048 || !value.startsWith('/') || value.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(value)) return false;
  try {
    const url = new URL(value, origin);
    return url.origin === new URL(origin).origin && !url.pathname.startsWith('//') && !url.pathname.startsWith('/\\');
  } catch {
    return false;
  }
}

/** The current page's path, query and fragment, or `/` outside a browser. */
export function currentPath(): string {
  const location = (globalThis as { location?: Location }).location;
  return location ? `${location.pathname}${location.search}${location.hash}` : '/';
}
