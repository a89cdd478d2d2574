/**
 * What the request log records: method, path, client address. Never the query string: on
 * `/auth/callback` it holds the authorization code and state (RFC 9700 §4.2.4: keep codes out of
 * logs), and elsewhere it may hold whatever an application put there.
 */
export function requestForLog(request: { method?: string; url?: string; ip?: string; id?: string }): Record<string, unknown> {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  return { method: request.method, url: query === -1 ? url : `${url.slice(0, query)}?…`, remoteAddress: request.ip, reqId: request.id };
}
