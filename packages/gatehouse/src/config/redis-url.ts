import { isIPv6 } from 'node:net';

/**
 * The `session.store` forms that name Redis, parsed into what a connection needs:
 *
 * - `redis://[user:pass@]host[:port][/db]`: one server (port 6379, database 0 by default).
 * - `rediss://…`: the same over TLS.
 * - `redis-sentinel://[user:pass@]h1[:26379],h2[:26379]/<masterName>[?db=N]`: the master that
 *   these Sentinels name; the credentials are the data nodes' (Sentinels are asked without).
 * - `redis-cluster://[user:pass@]h1[:6379],h2[:6379]`: a Redis Cluster, found from these seeds.
 * - `rediss-sentinel://…` and `rediss-cluster://…`: the same over TLS, to every node (for Sentinel:
 *   to the Sentinels and to the data nodes alike).
 *
 * TLS always verifies the server's certificate (chain and host name). A private CA is trusted
 * through Node's `NODE_EXTRA_CA_CERTS`.
 * Parsing is pure (no connection, no DNS) so config validation can run it. A problem text never
 * contains the URL's password: it ends up in logs and error pages.
 */

/** One `host:port` pair. IPv6 hosts are kept without brackets. */
export interface RedisEndpoint {
  host: string;
  port: number;
}

/** ACL user (optional) and password, percent-decoded. */
export interface RedisCredentials {
  username?: string;
  password?: string;
}

/** One server, plain or TLS. */
export interface RedisStandaloneTarget extends RedisCredentials {
  mode: 'standalone';
  endpoint: RedisEndpoint;
  tls: boolean;
  database: number;
}

/** A master found through Sentinels. */
export interface RedisSentinelTarget extends RedisCredentials {
  mode: 'sentinel';
  sentinels: RedisEndpoint[];
  masterName: string;
  database: number;
  /** TLS to the Sentinels and to the data nodes. */
  tls: boolean;
}

/** A Redis Cluster, found from seed nodes. Cluster has only database 0. */
export interface RedisClusterTarget extends RedisCredentials {
  mode: 'cluster';
  nodes: RedisEndpoint[];
  /** TLS to every node. */
  tls: boolean;
}

export type RedisTarget = RedisStandaloneTarget | RedisSentinelTarget | RedisClusterTarget;

/** The parse result: the target, or a problem text that is safe to show (no password). */
export type RedisUrlResult = { target: RedisTarget } | { problem: string };

const SCHEMES = ['redis', 'rediss', 'redis-sentinel', 'rediss-sentinel', 'redis-cluster', 'rediss-cluster'] as const;
type Scheme = (typeof SCHEMES)[number];

/** Whether a store URL names Redis in any of its forms (it may still be malformed). */
export function isRedisUrl(url: string): boolean {
  return /^rediss?(-sentinel|-cluster)?:\/\//.test(url);
}

// Host names (RFC 1123 labels, plus "_", which container platforms use in service names) or IPv4
// literals. Anything else (spaces, "%", "/"…) is a typo that would only fail later, at connect time.
const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
// Sentinel master names are free text in sentinel.conf; keep them to what a URL path carries plainly.
const MASTER_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** Parse a redis store URL. */
export function parseRedisUrl(url: string): RedisUrlResult {
  const head = /^([a-z-]+):\/\/(.*)$/s.exec(url);
  const scheme = head?.[1] as Scheme | undefined;
  if (!head || !scheme || !SCHEMES.includes(scheme)) {
    return {
      problem: 'not a Redis URL: it must start with redis://, rediss://, redis-sentinel://, rediss-sentinel://, redis-cluster:// or rediss-cluster://',
    };
  }
  let rest = head[2] as string;
  if (rest.includes('#')) return { problem: 'a Redis URL has no #fragment' };

  let query = '';
  const q = rest.indexOf('?');
  if (q !== -1) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);

  // The last "@" ends the user info: an unencoded "@" in a password still parses as intended.
  const at = authority.lastIndexOf('@');
  const credentials = at === -1 ? {} : parseCredentials(authority.slice(0, at));
  if ('problem' in credentials) return credentials;

  const tls = scheme.startsWith('rediss');
  const sentinel = scheme === 'redis-sentinel' || scheme === 'rediss-sentinel';
  const defaultPort = sentinel ? 26379 : 6379;
  const hosts = authority.slice(at + 1);
  if (hosts === '') return { problem: 'the host is missing' };
  const endpoints: RedisEndpoint[] = [];
  for (const part of hosts.split(',')) {
    const endpoint = parseEndpoint(part, defaultPort);
    if ('problem' in endpoint) return endpoint;
    endpoints.push(endpoint);
  }

  const params = parseQuery(query);
  if ('problem' in params) return params;

  if (scheme === 'redis' || scheme === 'rediss') {
    if (endpoints.length !== 1) {
      return { problem: `${scheme}:// names one server; for several, use ${scheme}-sentinel:// or ${scheme}-cluster://` };
    }
    if (params.size > 0) return { problem: `${scheme}:// takes no ?parameters: write the database as the path, e.g. /0` };
    const database = parseDatabase(path, 'the path');
    if (typeof database !== 'number') return database;
    return { target: { mode: 'standalone', endpoint: endpoints[0] as RedisEndpoint, tls, database, ...credentials } };
  }

  if (sentinel) {
    if (path === '') return { problem: `the master name is missing: write ${scheme}://host:26379,…/<masterName>` };
    if (!MASTER_NAME.test(path)) return { problem: 'the master name must be 1–128 letters, digits, ".", "_" or "-"' };
    for (const key of params.keys()) {
      if (key !== 'db') return { problem: `unknown parameter "${key}": ${scheme}:// takes only ?db=N` };
    }
    const db = params.get('db');
    const database = db === undefined ? 0 : parseDatabase(db, '?db');
    if (typeof database !== 'number') return database;
    return { target: { mode: 'sentinel', sentinels: endpoints, masterName: path, database, tls, ...credentials } };
  }

  // redis-cluster, rediss-cluster
  if (path !== '') return { problem: `${scheme}:// takes no path: Redis Cluster has only database 0` };
  if (params.size > 0) return { problem: `${scheme}:// takes no ?parameters` };
  return { target: { mode: 'cluster', nodes: endpoints, tls, ...credentials } };
}

function parseCredentials(userinfo: string): RedisCredentials | { problem: string } {
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
  const pass = colon === -1 ? undefined : userinfo.slice(colon + 1);
  const username = decode(user);
  const password = pass === undefined ? '' : decode(pass);
  if (username === undefined || password === undefined) {
    return { problem: 'the user name or password has a malformed %-escape: percent-encode special characters (e.g. "/" as %2F)' };
  }
  // Redis authenticates with a password (AUTH [user] password); a user name alone cannot log in.
  if (password === '') return { problem: 'the credentials have no password: write user:password@ or :password@' };
  return username === '' ? { password } : { username, password };
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function parseEndpoint(text: string, defaultPort: number): RedisEndpoint | { problem: string } {
  let host: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1] as string;
    port = bracketed[2];
    if (!isIPv6(host)) return { problem: `"[${host}]" is not an IPv6 address` };
  } else {
    const colon = text.lastIndexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    port = colon === -1 ? undefined : text.slice(colon + 1);
    if (host === '') return { problem: 'a host is empty (check the commas between hosts)' };
    if (host.includes(':')) return { problem: `"${host}" looks like an IPv6 address: write it in brackets, e.g. [::1]:6379` };
    if (!HOST_NAME.test(host)) return { problem: `"${host}" is not a host name or IP address` };
  }
  if (port === undefined) return { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    return { problem: `the port of "${host}" must be a number from 1 to 65535` };
  }
  return { host, port: Number(port) };
}

function parseQuery(query: string): Map<string, string> | { problem: string } {
  const params = new Map<string, string>();
  if (query === '') return params;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = decode(eq === -1 ? '' : pair.slice(eq + 1));
    if (key === undefined || value === undefined || key === '') return { problem: 'the ?query is malformed' };
    if (params.has(key)) return { problem: `the parameter "${key}" is given twice` };
    params.set(key, value);
  }
  return params;
}

function parseDatabase(text: string, what: string): number | { problem: string } {
  if (text === '') return 0;
  // Redis numbers databases from 0; `databases` in redis.conf (default 16) sets how many exist.
  if (!/^\d{1,9}$/.test(text)) return { problem: `${what} must be a database number such as 0` };
  return Number(text);
}
