/**
 * True for a path on the current origin: starts with one `/`, no backslash (browsers read it as
 * a slash, so `/\evil.example` is another host) and no control character. Anything else would
 * make the post-sign-in redirect an open redirect (RFC 9700 §4.11).
 */
export function isSameOriginPath(value: string): boolean {
  return value.length <= 2048 && value.startsWith('/') && !value.startsWith('//') && !/[\\\u0000-\u001f\u007f]/.test(value);
}

/** The current page's path, query and fragment, or `/` outside a browser. */
export function currentPath(): string {
  const location = (globalThis as { location?: Location }).location;
  return location ? `${location.pathname}${location.search}${location.hash}` : '/';
}
