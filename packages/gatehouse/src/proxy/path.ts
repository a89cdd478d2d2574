/**
 * Strict matching of proxied paths (RFC 10017 "proxy restrictions": the BFF forwards only to the
 * upstreams and paths it is configured for). A path that could be read two ways — by us and by
 * the upstream, or by two upstream frameworks — is refused, never "cleaned up": normalizing would
 * mean guessing how the upstream decodes. What is forwarded is the request's own bytes after the
 * route prefix, appended to the configured upstream URL, so no input can change the upstream's
 * origin or escape its base path.
 */

import { pathAfterPrefix, pathOfTarget } from '../util/path-prefix.js';

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
  | 'unicode_lookalike' // "%ef%bc%8e" (fullwidth "."), "%e2%80%a5" (".."), "%ef%bc%8f" (fullwidth "/"): a dot or slash after NFKC
  | 'non_ascii' // a raw byte above 0x7f: a request target is ASCII (RFC 3986 §2, RFC 9112 §3.2)
  | 'malformed_encoding'; // not valid percent-encoded UTF-8 (overlong "%c0%ae" included, RFC 3629 §3)

export type PathCheck = { ok: true; rest: string; query: string } | { ok: false; failure: PathFailure };

const DOUBLE_ENCODED = /%(2e|2f|5c|00)/i;
const CONTROL = /[\u0000-\u001f\u007f]/;
const NON_ASCII = /[^\u0000-\u007f]/;
/** A request target is visible ASCII (RFC 3986 §2; RFC 9112 §3.2): no raw space, control or byte above 0x7e. */
const NOT_URI_CHARACTER = /[^\u0021-\u007e]/;
/** What the path's structure is made of: dots, separators, path parameters, percent signs, query and fragment delimiters, ":" (Windows drives and streams). */
const NOT_STRUCTURE = /[^./\\;%?#:]/g;
/**
 * Dots and slashes that NFKC leaves alone but that other mappings turn into ASCII ones: the
 * "best fit" code pages of Windows APIs (the WorstFit attacks, CVE-2024-4577 family: "∕" → "/",
 * "¥" and "₩" → "\\" in cp932 / cp949) and Unicode's confusables (UTS #39 §4: fraction and
 * division slash, set minus, big solidus, ideographic full stop, combining solidus overlays).
 */
const LOOKALIKE = /[\u0337\u0338\u00a5\u20a9\u2044\u2215\u2216\u2571\u2572\u29f5\u29f8\u29f9\u3002\uff61]/;

/**
 * Whether a decoded segment holds a character an upstream could read as a dot, slash, backslash,
 * ";", "%", "?", "#" or ":": an NFKC-normalising upstream reads "．．" (U+FF0E) and "‥" (U+2025) as "..",
 * "／" as "/", "％２ｅ" as "%2e" (UAX #15). Refused when NFKC changes the structure at all, not
 * only when it yields a dot segment: "a‥b" would become "a..b" for one reader and not another.
 */
function hasLookalike(decoded: string): boolean {
  if (LOOKALIKE.test(decoded)) return true;
  const folded = decoded.normalize('NFKC');
  return folded !== decoded && folded.replace(NOT_STRUCTURE, '') !== decoded.replace(NOT_STRUCTURE, '');
}

/**
 * Splits a raw request target (`request.raw.url`) for the route at `prefix` into the part after
 * the prefix and the query (with its "?"), or says why it is refused.
 */
export function checkProxyPath(rawUrl: string, prefix: string): PathCheck {
  if (!rawUrl.startsWith('/')) return { ok: false, failure: 'absolute_form' };
  const path = pathOfTarget(rawUrl);
  const query = rawUrl.slice(path.length);
  // On the raw path: the prefix the router matched must be the bytes the client sent.
  const rest = pathAfterPrefix(path, prefix);
  if (rest === null) return { ok: false, failure: 'outside_prefix' };
  if (path.includes('\\')) return { ok: false, failure: 'backslash' };
  if (path.includes('//')) return { ok: false, failure: 'empty_segment' };
  // Node's parser refuses these before routing; checked again so no caller depends on that.
  if (NOT_URI_CHARACTER.test(rest)) return { ok: false, failure: NON_ASCII.test(rest) ? 'non_ascii' : 'control_character' };
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
    if (NON_ASCII.test(decoded) && hasLookalike(decoded)) return { ok: false, failure: 'unicode_lookalike' };
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
