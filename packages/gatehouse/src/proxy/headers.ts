import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseCookie } from 'cookie';
import { requestHeaderFamily } from '../util/header-families.js';

/**
 * Header policy between the browser and an upstream. Plain functions over header objects; the
 * Fastify layer calls them from reply-from's hooks.
 */

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1: Connection and the fields it names; §7.8 Upgrade; RFC 9112
 * §6.1 Transfer-Encoding, §7.4 TE; the obsolete Keep-Alive and Proxy-Connection of RFC 2068),
 * and Proxy-Authorization / Proxy-Authenticate (RFC 9110 §11.7: meant for the next proxy only).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
]);

/** The identity header Gatehouse sets; a client's copies (any `X-Gatehouse-*`) are always dropped. */
export const USER_HEADER = 'x-gatehouse-user';
export const IDENTITY_PREFIX = 'x-gatehouse-';

/** What a route lets through, and what Gatehouse adds. */
export interface RequestHeaderPolicy {
  /** Names of non-Gatehouse cookies the route forwards. */
  forwardCookies: readonly string[];
  /** Prefix of Gatehouse's own cookie names (`__Host-gatehouse`, `…-login`): never forwarded. */
  gatehouseCookiePrefix: string;
  /**
   * The route's `forwardHeaders` (lower case): when set, the only browser headers forwarded
   * (besides Content-Length). Unset: every header outside the dropped families.
   */
  forwardHeaders?: ReadonlySet<string> | undefined;
}

export interface RequestAdditions {
  authorization?: string | undefined;
  /** The session's user id, when there is a session. */
  userId?: string | undefined;
  /** The client address as Fastify resolved it (trustProxy-aware). */
  clientIp: string;
  /** The public origin's scheme and host. */
  proto: string;
  host: string;
}

/** Connection values that name no other field: the common case needs no parsing. */
const PLAIN_CONNECTION = new Set([undefined, 'keep-alive', 'close', 'Keep-Alive', 'Close', 'upgrade', 'Upgrade']);
const NO_TOKENS: ReadonlySet<string> = new Set();

/** Names listed in Connection (RFC 9110 §7.6.1), lower case. */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  if (typeof value !== 'object' && PLAIN_CONNECTION.has(value)) return NO_TOKENS;
  const tokens = new Set<string>();
  for (const v of [value ?? []].flat()) {
    for (const t of v.split(',')) {
      const name = t.trim().toLowerCase();
      if (name !== '') tokens.add(name);
    }
  }
  return tokens;
}

/** A route's `forwardHeaders` as the policy reads them (lower case), or undefined for the default policy. */
export function forwardHeaderSet(api: { forwardHeaders?: readonly string[] | undefined }): ReadonlySet<string> | undefined {
  return api.forwardHeaders === undefined ? undefined : new Set(api.forwardHeaders.map((n) => n.toLowerCase()));
}

/**
 * Fields that describe the message rather than the client, kept in allowlist mode too: without
 * Content-Length a streamed body would go upstream chunked, which some servers refuse.
 */
const FRAMING: ReadonlySet<string> = new Set(['content-length']);

/**
 * Whether a browser's request header may reach the upstream. Default: every header except the
 * families of `header-families.ts` (invalid names, gateway fields, forwarding/address, identity,
 * client-certificate, overrides). With a route's `forwardHeaders` allowlist: only those names
 * (validated at start-up never to name one of those families) and framing.
 */
export function isForwardable(name: string, allowlist: ReadonlySet<string> | undefined): boolean {
  if (allowlist !== undefined) return FRAMING.has(name) || (allowlist.has(name) && requestHeaderFamily(name) === undefined);
  return requestHeaderFamily(name) === undefined;
}

/**
 * The headers an upstream receives: the browser's, minus hop-by-hop fields, Cookie (except the
 * opted-in cookies), and every header of a dropped family (see `header-families.ts`: names with
 * "_", Authorization, forwarding/address, identity, client-certificate, override headers) — or,
 * with an allowlist, only the listed ones; then Gatehouse's own Authorization, X-Gatehouse-User
 * and X-Forwarded-*, written after stripping so the upstream sees exactly one value of each.
 * `host` is left out: the HTTP client sets the upstream's.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  policy: RequestHeaderPolicy,
  add: RequestAdditions,
): Record<string, string | string[]> {
  return applyRequestPolicy({ ...incoming } as Record<string, string | string[] | undefined>, policy, add);
}

/**
 * {@link upstreamRequestHeaders} on a copy the caller owns (reply-from hands one to
 * `rewriteRequestHeaders`): fields are removed and added in place, saving a second copy per request.
 */
export function applyRequestPolicy(
  headers: Record<string, string | string[] | undefined>,
  policy: RequestHeaderPolicy,
  add: RequestAdditions,
): Record<string, string | string[]> {
  const drop = connectionTokens(headers.connection);
  const cookieHeader = headers.cookie;
  for (const name in headers) {
    // Names are lower case from Node's parser; lower-cased again for callers that build objects themselves.
    const lower = name.toLowerCase();
    if (headers[name] === undefined || HOP_BY_HOP.has(lower) || drop.has(lower) || !isForwardable(lower, policy.forwardHeaders)) delete headers[name];
  }
  const cookie = forwardedCookies(typeof cookieHeader === 'string' ? cookieHeader : undefined, policy);
  if (cookie) headers.cookie = cookie;
  if (add.authorization) headers.authorization = add.authorization;
  if (add.userId !== undefined) headers[USER_HEADER] = add.userId;
  // The de-facto proxy headers, written fresh (RFC 7239 §1 explains why appending to a client's copy is unsafe).
  headers['x-forwarded-for'] = add.clientIp;
  headers['x-forwarded-proto'] = add.proto;
  headers['x-forwarded-host'] = add.host;
  return headers as Record<string, string | string[]>;
}

/** The `Cookie` header for the upstream: only the opted-in names, never Gatehouse's own. */
export function forwardedCookies(header: string | undefined, policy: RequestHeaderPolicy): string | undefined {
  if (!header || policy.forwardCookies.length === 0) return undefined;
  // Values are forwarded byte for byte (no decode / re-encode).
  const parsed = parseCookie(header, { decode: (v) => v });
  const pairs: string[] = [];
  for (const name of policy.forwardCookies) {
    const value = parsed[name];
    if (value === undefined || name.startsWith(policy.gatehouseCookiePrefix)) continue;
    pairs.push(`${name}=${value}`);
  }
  return pairs.length > 0 ? pairs.join('; ') : undefined;
}

export interface ResponseHeaderPolicy {
  allowSetCookie: boolean;
  gatehouseCookiePrefix: string;
  /** Gatehouse's security headers: the gateway's values win over an upstream's. */
  securityHeaderNames: ReadonlySet<string>;
  /**
   * The route answers per user (auth required/optional): a shared cache must never keep it. The
   * upstream cannot know (it never sees the cookie), so `public` becomes `private` and a missing
   * Cache-Control becomes `private, no-cache`.
   */
  perUser?: boolean;
}

/**
 * The headers the browser receives from an upstream: minus hop-by-hop fields, minus Set-Cookie
 * unless the route allows it (and then never one naming a Gatehouse cookie: an upstream must not
 * be able to plant or overwrite the session, RFC 6265bis §8.6 "cookie tossing"), minus the
 * security headers Gatehouse sets itself.
 */
export function downstreamResponseHeaders(incoming: IncomingHttpHeaders, policy: ResponseHeaderPolicy): IncomingHttpHeaders {
  const drop = connectionTokens(incoming.connection);
  const out: IncomingHttpHeaders = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || HOP_BY_HOP.has(name) || drop.has(name) || policy.securityHeaderNames.has(name)) continue;
    // The gateway owns CORS and service workers on the public origin, never an upstream.
    if (name.startsWith('access-control-') || name === 'service-worker-allowed' || name === 'clear-site-data') continue;
    if (name === 'set-cookie') {
      if (!policy.allowSetCookie) continue;
      const prefix = policy.gatehouseCookiePrefix.toLowerCase();
      // A nameless cookie ("=__Host-x=v") reads as a cookie named by its value in some browsers.
      const kept = [value]
        .flat()
        .filter((c) => {
          const name = cookieName(c).toLowerCase();
          return name !== '' && !name.startsWith(prefix) && !name.startsWith('__host-') && !name.startsWith('__secure-');
        });
      if (kept.length > 0) out['set-cookie'] = kept;
      continue;
    }
    out[name] = value;
  }
  if (policy.perUser) out['cache-control'] = privateCacheControl([out['cache-control'] ?? []].flat().join(','));
  return out;
}

function cookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  return (eq === -1 ? setCookie : setCookie.slice(0, eq)).trim();
}

/** Cache-Control for a per-user answer: never `public` or `s-maxage`, always `private`. */
export function privateCacheControl(upstream: string): string {
  const kept = upstream
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '' && !/^(public|private|s-maxage=.*)$/i.test(d));
  return ['private', ...(kept.length > 0 ? kept : ['no-cache'])].join(', ');
}
