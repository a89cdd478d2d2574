/**
 * CSRF and cross-site resource checks as plain functions over request headers.
 *
 * Defence in depth, so that a browser missing any one mechanism is still covered:
 *  1. SameSite=Strict on the session cookie (the browser's own defence);
 *  2. Fetch Metadata: `Sec-Fetch-Site` must say same-origin when present;
 *  3. `Origin` must equal the public origin when present;
 *  4. a custom header (`X-CSRF: 1`) that a cross-site page cannot send without a CORS
 *     preflight we never grant, or, for plain HTML forms, the session's anti-forgery token.
 * See the OWASP CSRF Prevention Cheat Sheet ("Fetch Metadata", "Verifying Origin",
 * "Custom Request Headers") and the W3C Fetch Metadata spec §5.
 */

const NO_ORIGINS: ReadonlySet<string> = new Set();

export const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Why a request was refused; logged and audited, never shown to the attacker beyond `csrf_rejected`. */
export type CsrfFailure =
  | 'cross_site_fetch' // Sec-Fetch-Site is present and not same-origin
  | 'origin_mismatch' // Origin is present and not ours (including "null")
  | 'missing_header' // neither X-CSRF: 1 nor an anti-forgery token
  | 'bad_token'; // an anti-forgery token that does not verify for this session

export interface OriginHeaders {
  origin?: string | undefined;
  secFetchSite?: string | undefined;
}

/**
 * Step 2 and 3 for an unsafe request: who sent it. Returns the failure, or null when the
 * headers that are present all say same-origin. (Old browsers send neither; the custom
 * header requirement still holds for them.)
 */
export function checkRequestOrigin(
  headers: OriginHeaders,
  publicOrigin: string,
  trustedOrigins: ReadonlySet<string> = NO_ORIGINS,
): CsrfFailure | null {
  // Development only: the exact origins of the CORS allowlist (a dev server on another port).
  // They still need the custom header, which only a page of theirs can send after our preflight.
  if (headers.origin !== undefined && trustedOrigins.has(headers.origin)) return null;
  if (headers.secFetchSite !== undefined && headers.secFetchSite !== 'same-origin') return 'cross_site_fetch';
  // An opaque origin serializes as "null" (sandboxed iframes, some redirects): never ours.
  if (headers.origin !== undefined && headers.origin !== publicOrigin) return 'origin_mismatch';
  return null;
}

/** Step 4: the custom header. Exactly `1`, so it is a deliberate signal and not any stray header. */
export function hasCsrfHeader(value: string | string[] | undefined): boolean {
  return value === '1';
}

export interface FetchMetadata {
  secFetchSite?: string | undefined;
  secFetchMode?: string | undefined;
  origin?: string | undefined;
}

/**
 * Resource isolation for cookie-authenticated GETs (protected files, /auth JSON): a page on
 * another site may link to us (a top-level navigation), but may not embed or fetch our
 * protected resources (`<img>`, `<script>`, fetch) with the user's cookie.
 * W3C Fetch Metadata §5 "resource isolation policy". `same-site` is refused as well: a
 * sibling subdomain is another origin and may be less trusted.
 */
export function isCrossSiteSubresource(meta: FetchMetadata, trustedOrigins: ReadonlySet<string> = NO_ORIGINS): boolean {
  if (meta.origin !== undefined && trustedOrigins.has(meta.origin)) return false;
  const site = meta.secFetchSite;
  if (site === undefined || site === 'same-origin' || site === 'none') return false;
  return meta.secFetchMode !== 'navigate';
}
