import { isIP } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';

// The forms `trustProxy` may take, and why one would not take effect: read by the config check
// and by http/trust-proxy.ts, which compiles a valid setting into the function Fastify uses.

/** What the configuration accepts: no proxy, every hop, a hop count, or the proxies' addresses. */
export type TrustProxySetting = boolean | number | string | readonly string[];

/** Named ranges proxy-addr knows (RFC 1122 loopback, RFC 3927/4291 link-local, RFC 1918/4193 unique-local). */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** The address entries of a string or list setting: `"10.0.0.1, 10.0.0.2"` is two. */
export function entries(setting: string | readonly string[]): string[] {
  const list = typeof setting === 'string' ? setting.split(',') : setting;
  return list.map((entry) => entry.trim());
}

/**
 * Why an address entry would not take effect, or undefined when it is a proxy address: an IP,
 * a CIDR (`10.0.0.0/8`, `fd00::/8`), an IPv4 netmask form, or a named range. Only canonical
 * forms: proxy-addr would also read `"1"` as 0.0.0.1 and `"127.1"` as 127.0.0.1, so a hop count
 * written in quotes would silently trust a nonsense address instead.
 */
export function addressEntryProblem(entry: string): string | undefined {
  if (entry === '') return 'an empty entry';
  if (NAMED_RANGES.has(entry)) return undefined;
  const slash = entry.lastIndexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `"${entry}" is not an IP address`;
  if (slash !== -1) {
    const range = entry.slice(slash + 1);
    const max = family === 4 ? 32 : 128;
    const prefix = /^\d{1,3}$/.test(range) ? Number(range) : family === 4 && isIP(range) === 4 ? -1 : Number.NaN;
    // A /0 prefix would trust every address, which is `true` spelled differently.
    if (Number.isNaN(prefix) || prefix === 0 || prefix > max) return `"${entry}" has no valid prefix length (1–${max})`;
  }
  try {
    proxyAddr.compile(entry);
  } catch (error) {
    return `"${entry}": ${(error as Error).message}`;
  }
  return undefined;
}

/** Every reason `setting` would not take effect as written (empty when it would). */
export function trustProxyProblems(setting: TrustProxySetting): string[] {
  if (typeof setting === 'boolean') return [];
  if (typeof setting === 'number') {
    return Number.isSafeInteger(setting) && setting >= 0 ? [] : [`${setting} is not a hop count (a whole number, 0 or more)`];
  }
  if (typeof setting === 'string' && setting.trim() === '') return [];
  if (typeof setting !== 'string' && setting.length === 0) return [];
  return entries(setting).flatMap((entry) => addressEntryProblem(entry) ?? []);
}

/** True when the setting names some proxy in front (X-Forwarded-* is read at all). */
export function trustsAProxy(setting: TrustProxySetting): boolean {
  if (typeof setting === 'string') return setting.trim() !== '';
  if (typeof setting === 'number') return setting > 0;
  if (typeof setting === 'boolean') return setting;
  return setting.length > 0;
}
