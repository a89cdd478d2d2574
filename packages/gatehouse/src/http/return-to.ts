/**
 * A `returnTo` is only ever a path on our own origin: anything else (another host, a scheme,
 * `//host`, backslashes that browsers treat as slashes, control characters) falls back to `/`.
 * Open redirects after login are a phishing tool (RFC 9700 §4.11).
 */
export function safeReturnTo(value: unknown, publicOrigin: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(value)) return '/';
  try {
    const url = new URL(value, publicOrigin);
    if (url.origin !== publicOrigin) return '/';
    // Checked again after normalizing: dot segments and encoded dots can turn a path into a
    // network-path reference ("/.//evil.example", "/%2e//evil.example", "/a/..//evil.example"
    // all become "//evil.example"), which a browser follows to another host.
    const path = `${url.pathname}${url.search}${url.hash}`;
    return path.startsWith('//') || path.startsWith('/\\') ? '/' : path;
  } catch {
    return '/';
  }
}
