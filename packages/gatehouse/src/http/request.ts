import type { IncomingHttpHeaders } from 'node:http';

/**
 * A top-level navigation (the user typed, clicked a link, or reloaded) as opposed to a
 * fetch/XHR or a sub-resource. Only navigations are ever redirected to the login page;
 * API-style requests always get 401 JSON (a 302 inside fetch ends as an opaque CORS error).
 */
export function isNavigation(request: { method: string; headers: IncomingHttpHeaders }): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const mode = request.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  // Browsers without Fetch Metadata: a request that asks for HTML and carries none of the
  // markers that fetch wrappers add.
  const accept = request.headers.accept ?? '';
  return accept.includes('text/html') && request.headers['x-csrf'] === undefined && request.headers['x-requested-with'] === undefined;
}

/** One header value: the first when a client repeats it. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Where a navigation without a session is sent: the login page with `returnTo`, which holds only
 * the path and query of the request — an absolute-form request target (`GET http://evil/x`)
 * cannot put another host into the link.
 */
export function loginRedirect(requestUrl: string, loginPage: string, publicOrigin: string): string {
  const target = new URL(requestUrl, publicOrigin);
  return `${loginPage}?returnTo=${encodeURIComponent(`${target.pathname}${target.search}`)}`;
}

/**
 * A request that carries more than one `Host` field: RFC 9112 §3.2 requires a server to answer 400.
 * Node keeps only the first, but a cache or upstream in the path may read another, so the two
 * would disagree on which site was asked for (request smuggling, cache poisoning).
 */
export function hasRepeatedHost(rawHeaders: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.length === 4 && rawHeaders[i]?.toLowerCase() === 'host' && ++seen > 1) return true;
  }
  return false;
}
