/**
 * Strict matching of proxied paths (RFC 10017 "proxy restrictions": the BFF forwards only to the
 * upstreams and paths it is configured for). A path that could be read two ways — by us and by
 * the upstream, or by two upstream frameworks — is refused, never "cleaned up": normalizing would
 * mean guessing how the upstream decodes. What is forwarded is the request's own bytes after the
 * route prefix, appended to the configured upstream URL, so no input can change the upstream's
 * origin or escape its base path.
 */

/** Why a path was refused (logged; the client sees `path_rejected`). */
export type PathFailure =
  | 'absolute_form' // GET http://host/… (RFC 9112 §3.2.2): only origin-form reaches routes
  | 'outside_prefix' // the raw path is not the route prefix or below it
  | 'backslash' // some servers read "\" as "/" (WHATWG URL special schemes)
  | 'empty_segment' // "//": "//host" is a network-path reference (RFC 3986 §4.2)
  | 'dot_segment' // "." / ".." (RFC 3986 §5.2.4), also "%2e%2e", "..;" (path parameters)
  | 'encoded_separator' // "%2f", "%5c": a slash the router did not see
  | 'control_character' // NUL and other C0 controls, decoded
  | 'double_encoding' // "%252e": a dot or slash after a second decoding
  | 'malformed_encoding'; // not valid percent-encoded UTF-8

export type PathCheck = { ok: true; rest: string; query: string } | { ok: false; failure: PathFailure };

const DOUBLE_ENCODED = /%(2e|2f|5c|00)/i;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Splits a raw request target (`request.raw.url`) for the route at `prefix` into the part after
 * the prefix and the query (with its "?"), or says why it is refused.
 */
export function checkProxyPath(rawUrl: string, prefix: string): PathCheck {
  if (!rawUrl.startsWith('/')) return { ok: false, failure: 'absolute_form' };
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q);
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return { ok: false, failure: 'outside_prefix' };
  if (path.includes('\\')) return { ok: false, failure: 'backslash' };
  if (path.includes('//')) return { ok: false, failure: 'empty_segment' };
  const rest = path.slice(prefix.length);
  // Fast path: without "%", "." or ";" no segment can decode to a dot segment or a separator, and
  // Node's parser has already refused raw control characters in the request line.
  if (!/[%.;]/.test(rest)) return { ok: true, rest, query };
  const segments = rest.split('/').slice(1);
  for (const segment of segments) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return { ok: false, failure: 'malformed_encoding' };
    }
    // "..;x" is ".." to servlet containers (path parameters, RFC 3986 §3.3).
    const name = decoded.split(';', 1)[0];
    if (name === '.' || name === '..') return { ok: false, failure: 'dot_segment' };
    if (decoded.includes('/') || decoded.includes('\\')) return { ok: false, failure: 'encoded_separator' };
    if (CONTROL.test(decoded)) return { ok: false, failure: 'control_character' };
    if (DOUBLE_ENCODED.test(decoded)) return { ok: false, failure: 'double_encoding' };
  }
  return { ok: true, rest, query };
}

/** The path (and query) on the upstream for a checked path: the upstream's base path, then `rest` and `query`. */
export function upstreamPath(upstream: URL, rest: string, query: string): string {
  const base = upstream.pathname.replace(/\/+$/, '');
  return `${`${base}${rest}` || '/'}${query}`;
}

/** The upstream URL for a checked path: the upstream's origin, then {@link upstreamPath}. */
export function upstreamTarget(upstream: URL, rest: string, query: string): string {
  return `${upstream.origin}${upstreamPath(upstream, rest, query)}`;
}
