import { realpathSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { isAbsolute, relative } from 'node:path';
import type { ConfigProblem } from '../errors.js';
import { trustProxyProblems, trustsAProxy } from '../http/trust-proxy.js';
import { isRedisUrl, parseRedisUrl } from '../redis/url.js';
import type { ParsedConfig } from './schema.js';
import { forwardHeaderProblem } from '../proxy/header-families.js';
import { checkSpa } from './validate-spa.js';

/**
 * Unsafe combinations. The schema checks each key on its own; these checks look at keys together
 * and refuse what would weaken the gateway, each naming its key, the reason (with its source) and
 * the fix. They take a partial configuration: when part of the file failed the schema, the
 * sections that parsed are still checked, so every problem is reported in one run.
 */

/** Each top-level section is present only when it passed the schema. */
export type PartialConfig = Partial<ParsedConfig>;

/** Cookie Max-Age cap: user agents clamp Expires/Max-Age to 400 days (RFC 6265bis §4.1.2.1, §4.1.2.2). */
export const MAX_COOKIE_AGE_MS = 400 * 86_400_000;

/** HSTS preload list entry requirements (hstspreload.org): max-age of at least one year. */
const HSTS_PRELOAD_MIN_SECONDS = 31_536_000;

/** A problem text when `text` is not a bare origin, or the parsed URL when it is. */
export function parseOrigin(text: string): { url: URL } | { error: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: 'not a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { error: `scheme ${url.protocol} is not http(s)` };
  // Userinfo in an origin is meaningless and a classic phishing vector (RFC 3986 §7.6; WHATWG URL forbids it in origins).
  if (url.username !== '' || url.password !== '') return { error: 'it contains credentials (user:password@)' };
  // An origin is scheme, host and port only (RFC 6454 §4): a path, query or fragment is a mistake.
  if (url.pathname !== '/' || /[?#]/.test(text)) return { error: 'it has a path, query or fragment' };
  return { url };
}

/** True for 127.0.0.0/8, ::1 (also as IPv4-mapped) and `localhost`: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h)) return false;
  // The URL parser compresses IPv6: 0:0:0:0:0:0:0:1 → [::1], ::ffff:127.0.0.1 → [::ffff:7f00:1].
  const compressed = new URL(`http://[${h}]`).hostname;
  return compressed === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:/.test(compressed);
}

function formatDuration(ms: number): string {
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  for (const [unit, size] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function checkPublicOrigin(c: PartialConfig): ConfigProblem[] {
  if (c.publicOrigin === undefined) return [];
  const parsed = parseOrigin(c.publicOrigin);
  if ('error' in parsed) {
    const message = `"${c.publicOrigin}" is not an origin (${parsed.error}): write scheme://host[:port] only, e.g. "https://app.example.com".`;
    return [{ key: 'publicOrigin', message }];
  }
  // Secure cookies are not sent back over plain HTTP (RFC 6265bis §4.1.2.5), and passwords would travel in clear.
  if (parsed.url.protocol === 'http:' && c.mode === 'production') {
    const message =
      'plain HTTP in production: the session cookie is Secure (RFC 6265bis §4.1.2.5) and passwords would cross the network in clear. Use an https:// origin; for local work only, set "mode": "development".';
    return [{ key: 'publicOrigin', message }];
  }
  return [];
}

function checkListener(c: PartialConfig): ConfigProblem[] {
  if (c.listen?.tls !== false || c.trustProxy === undefined || c.mode === undefined) return [];
  // TLS is terminated either here or by a trusted proxy in front (OWASP Transport Layer Security Cheat Sheet).
  const behindProxy = trustsAProxy(c.trustProxy);
  if (behindProxy || (c.mode === 'development' && isLoopbackHost(c.listen.host))) return [];
  const message =
    c.mode === 'development'
      ? `plain HTTP on "${c.listen.host}", which other machines can reach: session cookies and passwords would cross the network in clear. Set "listen.host" to "127.0.0.1", or set "listen.tls" to "self-signed".`
      : 'plain HTTP without a TLS-terminating proxy: session cookies and passwords would cross the network in clear. Set "listen.tls" to "self-signed" or { "cert", "key" }, or, when a proxy terminates TLS in front, set "trustProxy".';
  return [{ key: 'listen.tls', message }];
}

function checkListenerLimits(c: PartialConfig): ConfigProblem[] {
  const listen = c.listen;
  // Node refuses to start a server whose headers may take longer than the whole request.
  if (!listen || listen.headersTimeout <= listen.requestTimeout) return [];
  const message = `${formatDuration(listen.headersTimeout)} is longer than listen.requestTimeout (${formatDuration(listen.requestTimeout)}), which bounds the whole request, headers included: lower it, or raise listen.requestTimeout.`;
  return [{ key: 'listen.headersTimeout', message }];
}

function checkTrustProxy(c: PartialConfig): ConfigProblem[] {
  if (c.trustProxy === undefined) return [];
  // An entry proxy-addr would misread ("1" is 0.0.0.1) or refuse would leave request.ip the
  // proxy's address for every client: one client's failures would then lock everyone out.
  const problems = trustProxyProblems(c.trustProxy);
  if (problems.length > 0) {
    const message = `${problems.join('; ')}: write a hop count without quotes (e.g. 1), or the proxies' IP addresses or CIDRs (e.g. "10.0.0.1, 10.0.0.0/8" or ["10.0.0.1", "fd00::/8"]; also "loopback", "linklocal", "uniquelocal").`;
    return [{ key: 'trustProxy', message }];
  }
  // With `true`, Fastify takes the left-most X-Forwarded-For, which any client writes: clients
  // would pick their own address for throttling and the audit log (OWASP Logging Cheat Sheet).
  if (c.trustProxy !== true || c.mode !== 'production') return [];
  const message =
    'true trusts every X-Forwarded-For hop, so a client could choose its own address and escape per-address throttling. Set the number of proxies in front (e.g. 1) or their addresses (e.g. "10.0.0.0/8, 127.0.0.1").';
  return [{ key: 'trustProxy', message }];
}

function checkProviders(c: PartialConfig): ConfigProblem[] {
  if (!c.providers) return [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  c.providers.forEach((p, i) => {
    const key = (name: string) => `providers[${i}].${name}`;
    if (seen.has(p.id)) problems.push({ key: key('id'), message: `"${p.id}" is used twice: provider ids must be unique (they name the callback URL).` });
    seen.add(p.id);
    // A confidential client authenticates at the token endpoint (RFC 10017 §6.1): exactly one way.
    if ((p.clientSecret === undefined) === (p.privateKeyJwt === undefined)) {
      problems.push({ key: key('clientSecret'), message: 'set exactly one of "clientSecret" and "privateKeyJwt": Gatehouse is a confidential client.' });
    }
    if (!p.scopes.includes('openid')) {
      problems.push({ key: key('scopes'), message: 'must include "openid": without it there is no ID token to identify the user.' });
    }
    let url: URL | undefined;
    try {
      url = new URL(p.issuer);
    } catch {
      problems.push({ key: key('issuer'), message: `"${p.issuer}" is not a URL: write the provider's issuer, e.g. "https://login.example.com".` });
    }
    if (url && url.protocol !== 'https:') {
      const loopback = url.protocol === 'http:' && isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ''));
      if (!(loopback && p.allowHttpIssuer)) {
        // Tokens and client credentials cross this connection (RFC 9700 §2.6: TLS for every endpoint).
        problems.push({
          key: key('issuer'),
          message: loopback
            ? `"${p.issuer}" is plain HTTP: allowed only for a local test provider, with "allowHttpIssuer": true.`
            : `"${p.issuer}" must use https: tokens and the client secret would cross the network in clear.`,
        });
      }
    }
  });
  return problems;
}

function checkCookie(c: PartialConfig): ConfigProblem[] {
  const cookie = c.session?.cookie;
  if (!cookie) return [];
  const problems: ConfigProblem[] = [];
  const key = (name: string) => `session.cookie.${name}`;
  // SameSite=None sends the cookie on cross-site requests, the CSRF vector SameSite exists to close (RFC 6265bis §8.8).
  if (cookie.sameSite === 'none') {
    const message =
      '"none" is refused: cross-site requests would carry the session, and Gatehouse serves one origin, so no legitimate request is cross-site. Use "strict" (the default) or "lax".';
    problems.push({ key: key('sameSite'), message });
  }
  // __Host- cookies must be Secure (RFC 6265bis §4.1.3.2); Secure keeps the session off plain HTTP (§4.1.2.5).
  if (!cookie.secure) {
    const message =
      'false is refused: the session would be sent over plain HTTP, and a __Host- cookie must be Secure (RFC 6265bis §4.1.3.2). Remove the key (browsers accept Secure cookies on http://localhost).';
    problems.push({ key: key('secure'), message });
  }
  // HttpOnly keeps the session out of reach of injected scripts (RFC 6265bis §4.1.2.6; OWASP Session Management Cheat Sheet).
  if (!cookie.httpOnly) {
    const message =
      'false is refused: any script on the page (an XSS, a compromised dependency) could read and exfiltrate the session. Remove the key: the SPA never needs the cookie, it calls /auth/session.';
    problems.push({ key: key('httpOnly'), message });
  }
  // A __Host- cookie has no Domain attribute, so it stays with the one host that set it (RFC 6265bis §4.1.3.2).
  if (cookie.domain !== undefined) {
    const message =
      'refused: a Domain attribute shares the cookie with every subdomain (any of which could read or overwrite the session), and the __Host- prefix forbids it (RFC 6265bis §4.1.3.2). Remove the key.';
    problems.push({ key: key('domain'), message });
  }
  // The __Host- prefix makes the browser enforce Secure, Path=/ and no Domain (RFC 6265bis §4.1.3.2).
  if (!cookie.name.startsWith('__Host-') || cookie.name.length === '__Host-'.length) {
    const message = `"${cookie.name}" is refused: the name must start with "__Host-" so browsers reject a copy set by a subdomain or over plain HTTP (RFC 6265bis §4.1.3.2). Use e.g. "__Host-${cookie.name.replace(/^__(Host|Secure)-/i, '') || 'gatehouse'}".`;
    problems.push({ key: key('name'), message });
  }
  // A __Host- cookie must have Path=/ (RFC 6265bis §4.1.3.2).
  if (cookie.path !== '/') {
    const message = `"${cookie.path}" is refused: a __Host- cookie must have Path=/ (RFC 6265bis §4.1.3.2), and Path is no security boundary anyway. Remove the key.`;
    problems.push({ key: key('path'), message });
  }
  return problems;
}

function checkCors(c: PartialConfig): ConfigProblem[] {
  if (!c.cors) return [];
  const { allowOrigins, allowCredentials } = c.cors;
  const key = 'cors.allowOrigins';
  const fix =
    'Gatehouse serves the SPA and the API from one origin, so CORS is not needed; in development, list the dev server, e.g. ["http://localhost:5173"].';
  // Fetch standard §3.2.5 (CORS protocol and credentials): "*" never works with credentials, and
  // reflecting any origin with credentials lets every site read the user's data.
  if (allowOrigins === '*' || allowOrigins === true) {
    const what = allowOrigins === '*' ? '"*"' : 'true (reflect any origin)';
    const why = allowCredentials
      ? 'with credentials, any site the user visits could call the API as the user and read the answers (Fetch standard §3.2.5, CORS protocol and credentials)'
      : "any site could read the gateway's responses, and a wildcard is never needed here";
    return [{ key, message: `${what} is refused: ${why}. ${fix}` }];
  }
  const problems: ConfigProblem[] = [];
  for (const [i, entry] of allowOrigins.entries()) {
    const entryKey = `${key}[${i}]`;
    if (entry === '*') {
      problems.push({ key: entryKey, message: `"*" is refused: any site could read the user's data. ${fix}` });
    } else if (entry === 'null') {
      // Opaque origins serialize as "null" (HTML Standard, "Origins"): sandboxed iframes, data: and file: pages all send it.
      const message =
        '"null" is refused: sandboxed iframes and data: or file: pages all send Origin: null, so any site can claim it. List real origins only.';
      problems.push({ key: entryKey, message });
    } else {
      const parsed = parseOrigin(entry);
      if ('error' in parsed) {
        const message = `"${entry}" is not an origin (${parsed.error}): write scheme://host[:port] only, e.g. "http://localhost:5173".`;
        problems.push({ key: entryKey, message });
      }
    }
  }
  if (allowOrigins.length > 0 && c.mode === 'production') {
    const message = `a CORS allowlist is refused in production: every listed origin could call the API with the user's session. ${fix} Remove the key, or set "mode": "development" for local work.`;
    problems.push({ key, message });
  }
  return problems;
}

function checkStatic(c: PartialConfig): ConfigProblem[] {
  if (!c.static) return [];
  const trim = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  const prefix = c.auth ? trim(c.auth.prefix) : undefined;
  const seen = new Map<string, number>();
  const problems: ConfigProblem[] = [];
  for (const [i, entry] of c.static.entries()) {
    const path = trim(entry.path);
    const key = `static[${i}].path`;
    if (path === '/') {
      problems.push({ key, message: '"/" would take every path from the SPA and /auth. Mount files under a prefix such as "/files".' });
    } else if (path !== entry.path) {
      // "/files/" would register the route "/files//*", leaving "/files/x" to the SPA handler.
      problems.push({ key, message: `"${entry.path}" must not end with "/": write "${path}".` });
    }
    // The auth endpoints must stay reachable and unambiguous: files must not shadow /auth/*.
    if (prefix !== undefined && (path === prefix || path.startsWith(`${prefix}/`))) {
      const message = `"${entry.path}" is inside auth.prefix "${prefix}", where the login, logout and session endpoints live. Pick another path, e.g. "/files".`;
      problems.push({ key, message });
    }
    const first = seen.get(path);
    if (first !== undefined) {
      const message = `"${entry.path}" is also the path of static[${first}]: each static path must be unique. Merge the entries or pick another path.`;
      problems.push({ key, message });
    } else {
      seen.set(path, i);
    }
  }
  return problems;
}

/** Paths Gatehouse answers itself: an API route must not take them over. */
export const RESERVED_PATHS: readonly string[] = ['/.well-known', '/healthz', '/readyz', '/metrics'];

/** Longest internal token lifetime: RFC 9068 tokens are short-lived bearer tokens (RFC 9700 §2.2). */
export const MAX_INTERNAL_TOKEN_LIFETIME_MS = 3_600_000;

function checkApis(c: PartialConfig): ConfigProblem[] {
  if (!c.apis) return [];
  const problems: ConfigProblem[] = [];
  const within = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`) || (prefix === '/' && path.startsWith('/'));
  const authPrefix = c.auth?.prefix;
  const cookieName = c.session?.cookie.name ?? '__Host-gatehouse';
  const seen = new Map<string, number>();
  c.apis.forEach((api, i) => {
    const key = (name: string) => `apis[${i}].${name}`;
    // Route paths are matched strictly; a trailing slash or the root would be ambiguous or take the whole site.
    if (api.path === '/' || api.path.endsWith('/') || api.path.includes('//')) {
      problems.push({ key: key('path'), message: `"${api.path}" must be a prefix such as "/api/orders": not "/", no trailing or double slash.` });
    }
    if (authPrefix !== undefined && (within(api.path, authPrefix) || within(authPrefix, api.path))) {
      problems.push({ key: key('path'), message: `"${api.path}" overlaps auth.prefix "${authPrefix}", where the login and session endpoints live. Use e.g. "/api/…".` });
    }
    for (const mount of c.static ?? []) {
      if (within(api.path, mount.path) || within(mount.path, api.path)) {
        problems.push({ key: key('path'), message: `"${api.path}" overlaps the static path "${mount.path}". Use a path of its own, e.g. "/api/…".` });
      }
    }
    for (const reserved of RESERVED_PATHS) {
      if (within(api.path, reserved) || within(reserved, api.path)) {
        problems.push({ key: key('path'), message: `"${api.path}" overlaps "${reserved}", which Gatehouse answers itself.` });
      }
    }
    const first = seen.get(api.path);
    if (first !== undefined) {
      problems.push({ key: key('path'), message: `"${api.path}" is also the path of apis[${first}]: each API path must be unique.` });
    } else {
      seen.set(api.path, i);
    }
    // A route nested in another would be reachable through the outer one by any spelling the
    // upstream normalises differently ("/api/pub/ADMIN", "/api/pub/admin;x"), without its checks.
    c.apis?.forEach((other, j) => {
      if (j !== i && other.path !== api.path && within(api.path, other.path)) {
        problems.push({
          key: key('path'),
          message: `"${api.path}" is inside apis[${j}].path "${other.path}": its stricter rules could be bypassed through the outer route. Give each API a path of its own (e.g. "/api/admin" beside "/api/public").`,
        });
      }
    });
    let url: URL | undefined;
    try {
      url = new URL(api.upstream);
    } catch {
      problems.push({ key: key('upstream'), message: `"${api.upstream}" is not a URL: write e.g. "http://127.0.0.1:4000" or "https://orders.internal/v1".` });
    }
    if (url) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        problems.push({ key: key('upstream'), message: `"${api.upstream}" must be an http:// or https:// URL.` });
      } else if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || /[?#]/.test(api.upstream)) {
        // Credentials in a URL end up in logs (RFC 3986 §7.5); a query or fragment has no meaning as a base.
        problems.push({ key: key('upstream'), message: `"${api.upstream}" must not contain credentials, a query or a fragment: use token for credentials.` });
      }
    }
    if (api.auth === 'none' && (api.token === 'user' || api.token === 'internal')) {
      problems.push({ key: key('token'), message: `"${api.token}" needs a signed-in user, but auth is "none": set auth to "required" (or "optional"), or token to "none".` });
    }
    if (api.auth === 'none' && api.token === 'client-credentials') {
      // Anyone on the internet would call the upstream as Gatehouse itself (a confused deputy).
      problems.push({ key: key('token'), message: '"client-credentials" with auth "none" lends the gateway\'s own identity to anonymous callers: set auth to "required".' });
    }
    if (api.token === 'user' && c.providers !== undefined && c.providers.length === 0) {
      problems.push({ key: key('token'), message: '"user" forwards the access token of an OpenID Connect sign-in, but no providers are configured. Add providers[], or use token "internal".' });
    }
    if (api.token === 'internal' && api.audience === undefined) {
      problems.push({ key: key('audience'), message: 'required with token "internal": the upstream checks that the token names it (RFC 9068 §4), e.g. "orders-api".' });
    }
    if (api.token === 'client-credentials' && c.serviceClient === undefined) {
      problems.push({ key: key('token'), message: '"client-credentials" needs the serviceClient section (issuer, clientId, clientSecret).' });
    }
    if (api.roles !== undefined && api.auth !== 'required') {
      problems.push({ key: key('roles'), message: 'roles need auth "required": without a session there is no role to check.' });
    }
    api.forwardCookies.forEach((name, j) => {
      // Gatehouse's cookies authenticate the browser to Gatehouse only; an upstream holding them could replay the session.
      if (name.startsWith(cookieName) || name.toLowerCase().startsWith('__host-gatehouse')) {
        problems.push({ key: `apis[${i}].forwardCookies[${j}]`, message: `"${name}" is Gatehouse's own cookie: it never reaches an upstream. Remove it.` });
      }
    });
    // The allowlist can only narrow the default policy, never let a dropped family through.
    api.forwardHeaders?.forEach((name, j) => {
      const problem = forwardHeaderProblem(name);
      if (problem) problems.push({ key: `apis[${i}].forwardHeaders[${j}]`, message: problem });
    });
  });
  return problems;
}

function checkServiceTokens(c: PartialConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const lifetime = c.internalTokens?.lifetime;
  if (lifetime !== undefined && lifetime > MAX_INTERNAL_TOKEN_LIFETIME_MS) {
    problems.push({ key: 'internalTokens.lifetime', message: `${formatDuration(lifetime)} is too long for a bearer token (RFC 9700 §2.2: short-lived access tokens). Use at most "1h"; "5m" is the default.` });
  }
  const sc = c.serviceClient;
  if (sc) {
    let url: URL | undefined;
    try {
      url = new URL(sc.issuer);
    } catch {
      problems.push({ key: 'serviceClient.issuer', message: `"${sc.issuer}" is not a URL: write the provider's issuer, e.g. "https://login.example.com".` });
    }
    if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && sc.allowHttpIssuer && isLoopbackHost(url.hostname))) {
      problems.push({ key: 'serviceClient.issuer', message: `"${sc.issuer}" must use https (a loopback http:// issuer only with "allowHttpIssuer": true): the client secret crosses this connection.` });
    }
  }
  return problems;
}

function checkTimeouts(c: PartialConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const throttle = c.local?.throttle;
  if (throttle && throttle.maxLockout < throttle.lockout) {
    const message = `${formatDuration(throttle.maxLockout)} is shorter than local.throttle.lockout (${formatDuration(throttle.lockout)}): the cap would cut the first lockout. Set it to at least ${formatDuration(throttle.lockout)}.`;
    problems.push({ key: 'local.throttle.maxLockout', message });
  }
  const session = c.session;
  if (session && session.idleTimeout > session.absoluteTimeout) {
    const message = `${formatDuration(session.idleTimeout)} is longer than session.absoluteTimeout (${formatDuration(session.absoluteTimeout)}), so it would never apply. Set it to at most ${formatDuration(session.absoluteTimeout)}.`;
    problems.push({ key: 'session.idleTimeout', message });
  }
  // User agents cap cookie lifetime at 400 days (RFC 6265bis §4.1.2.2): a longer session would outlive its cookie.
  if (session && session.absoluteTimeout > MAX_COOKIE_AGE_MS) {
    const message = `${formatDuration(session.absoluteTimeout)} exceeds 400 days, the longest cookie lifetime browsers allow (RFC 6265bis §4.1.2.2). Set it to "400d" or less.`;
    problems.push({ key: 'session.absoluteTimeout', message });
  }
  return problems;
}

function checkHsts(c: PartialConfig): ConfigProblem[] {
  const hsts = c.headers?.hsts;
  // The preload list rejects entries without includeSubDomains or with max-age below one year (hstspreload.org).
  if (!hsts?.preload || (hsts.includeSubDomains && hsts.maxAge >= HSTS_PRELOAD_MIN_SECONDS)) return [];
  const message =
    'preload needs "includeSubDomains": true and "maxAge" of at least 31536000 (one year), or browsers\' preload lists reject the site (hstspreload.org). Fix those keys, or remove "preload".';
  return [{ key: 'headers.hsts.preload', message }];
}

/**
 * Every unsafe combination in `config`, in file order. Empty when the configuration is safe.
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.2
 * @see https://fetch.spec.whatwg.org/#cors-protocol-and-credentials
 */
export function validateConfig(config: PartialConfig): ConfigProblem[] {
  return [
    ...checkPublicOrigin(config),
    ...checkListener(config),
    ...checkListenerLimits(config),
    ...checkSpa(config),
    ...checkTrustProxy(config),
    ...checkProviders(config),
    ...checkStatic(config),
    ...checkApis(config),
    ...checkServiceTokens(config),
    ...checkCookie(config),
    ...checkTimeouts(config),
    ...checkCors(config),
    ...checkHsts(config),
    ...checkStores(config),
    ...checkMetrics(config),
  ];
}

/** The admin listener is plain HTTP and unauthenticated: it must be a port of its own. */
function checkMetrics(config: PartialConfig): ConfigProblem[] {
  const metrics = config.metrics;
  // On the public origin, anyone could read sign-in failure rates, session counts and versions,
  // and make each scrape count sessions in the store: in production that takes an explicit choice.
  if (metrics?.enabled && metrics.port === undefined && !metrics.public && (config.mode ?? 'production') === 'production') {
    return [
      {
        key: 'metrics.port',
        message:
          'required in production: set a separate admin port (e.g. 9464) reachable by Prometheus only, or set "metrics.public": true to serve /metrics on the public origin and restrict it at your load balancer.',
      },
    ];
  }
  const port = metrics?.port;
  if (port === undefined || port === 0 || port !== config.listen?.port) return [];
  return [
    {
      key: 'metrics.port',
      message: `is the gateway's own port (listen.port ${port}): choose another port for the metrics listener, or leave metrics.port out to serve /metrics on the gateway.`,
    },
  ];
}

/**
 * Accounts need a durable, queryable store; Redis (often run without persistence) is not one.
 * A redis `session.store` URL is parsed here, so a typo fails at start-up, not at the first login.
 */
function checkStores(config: PartialConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const session = config.session?.store;
  if (session !== undefined && isRedisUrl(session)) {
    const parsed = parseRedisUrl(session);
    // The problem text never quotes the URL: it may hold the Redis password.
    if ('problem' in parsed) {
      problems.push({
        key: 'session.store',
        message: `the Redis URL is malformed (${parsed.problem}). Write "redis://[user:password@]host:6379[/db]", "redis-sentinel://[user:password@]host:26379,…/<masterName>[?db=N]" or "redis-cluster://[user:password@]host:6379,…" (with "rediss" for TLS: "rediss://", "rediss-sentinel://", "rediss-cluster://"); percent-encode special characters in the password.`,
      });
    }
  }
  const local = config.local?.store;
  if (local !== undefined && /^rediss?(-sentinel|-cluster)?:/.test(local)) {
    problems.push({
      key: 'local.store',
      message: 'accounts cannot live in Redis: use "postgres://…" (several instances) or "sqlite:<path>" (one instance).',
    });
  }
  return problems;
}

/**
 * After paths are resolved: a protected folder must not also be reachable through another
 * mount or the SPA root (a folder inside another served folder is served twice, once without
 * the session or role check). Symbolic links are followed where the folders exist.
 */
export function checkServedRoots(config: {
  spa?: { root?: string | undefined } | undefined;
  static: readonly { path: string; root: string; protected: boolean }[];
}): ConfigProblem[] {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  };
  const within = (child: string, parent: string) => {
    const rel = relative(parent, child);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  const served = [
    ...(config.spa?.root !== undefined ? [{ key: 'spa.root', path: '/', root: real(config.spa.root) }] : []),
    ...config.static.map((m, i) => ({ key: `static[${i}].root`, path: m.path, root: real(m.root) })),
  ];
  const problems: ConfigProblem[] = [];
  config.static.forEach((mount, i) => {
    if (!mount.protected) return;
    const own = real(mount.root);
    for (const other of served) {
      if (other.key === `static[${i}].root` || !within(own, other.root)) continue;
      const message = `"${mount.root}" is inside ${other.key} ("${other.root}"), which serves it again under "${other.path}" without this mount's session check. Move the protected folder out of ${other.key}.`;
      problems.push({ key: `static[${i}].root`, message });
    }
  });
  return problems;
}
