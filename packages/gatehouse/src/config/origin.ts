import { isIPv4, isIPv6 } from 'node:net';

/**
 * Origins and loopback hosts, as the configuration checks read them. One small module so every
 * check (public origin, CORS, providers, the SPA dev server) parses an origin the same way.
 */

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
