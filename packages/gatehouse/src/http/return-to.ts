/** Longest `returnTo` kept, in characters of the normalized (percent-encoded, so ASCII) path. */
export const MAX_RETURN_TO = 2048;

/**
 * A `returnTo` is only ever a path on our own origin: anything else (another host, a scheme,
 * `//host`, backslashes that browsers treat as slashes, control characters) falls back to `/`.
 * Open redirects after login are a phishing tool (RFC 9700 §4.11).
 */
export function safeReturnTo(value: unknown, publicOrigin: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_TO) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(value)) return '/';
  try {
    const url = new URL(value, publicOrigin);
    if (url.origin !== publicOrigin) return '/';
    // Checked again after normalizing: dot segments and encoded dots can turn a path into a
    // network-path reference ("/.//evil.example", "/%2e//evil.example", "/a/..//evil.example"
    // all become "//evil.example"), which a browser follows to another host.
    const path = `${url.pathname}${url.search}${url.hash}`;
    // The bound holds for what is kept, not only for what was sent: URL percent-encodes non-ASCII
    // (one "一" becomes "%E4%B8%80"), so 1,000 characters grew to 9 KB, sealed in a 12.5 KB login
    // transaction cookie that browsers drop (RFC 6265bis §5.6: 4096 bytes) and that evicted the
    // other tabs' logins under the cookie budget; past ~1,500 the answer's headers exceeded 16 KB.
    if (path.length > MAX_RETURN_TO) return '/';
    return path.startsWith('//') || path.startsWith('/\\') ? '/' : path;
  } catch {
    return '/';
  }
}
