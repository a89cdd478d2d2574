import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';

/**
 * `trustProxy`: which hops of `X-Forwarded-For` are believed. One function decides it for every
 * reader of the client address (Fastify's `request.ip`, WebSocket upgrades, the dev server), so
 * the throttle, the audit log, the session and the upstream's `X-Forwarded-For` agree.
 *
 * Fastify 5.12 ignores a hop count on purpose (it "fails closed": `request.ip` is the proxy), so
 * the setting is compiled here into the function form Fastify takes as is.
 * @see https://expressjs.com/en/guide/behind-proxies.html (the hop-count and address semantics)
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html (trusted client address)
 */

export { addressEntryProblem, type TrustProxySetting, trustProxyProblems, trustsAProxy } from '../config/trust-proxy-forms.js';
import { addressEntryProblem, entries, type TrustProxySetting, trustsAProxy } from '../config/trust-proxy-forms.js';

/** `(address, hop)`: is this hop a proxy of ours? Hop 0 is the peer of the socket. */
export type TrustFunction = (address: string, hop: number) => boolean;

/**
 * The trust function of a (validated) setting, or false for no proxy (the socket peer is the
 * client and X-Forwarded-* is never read).
 * - `true`: every hop; the client is the left-most `X-Forwarded-For` entry (anyone can write it).
 * - `n`: the n nearest hops, whatever their address (Express's semantics): the socket peer and
 *   the n-1 entries it appended. Only safe when nothing but the proxies can reach the listener.
 * - addresses / CIDRs: hops whose address is one of them, nearest first, stopping at the first
 *   that is not.
 */
export function compileTrustProxy(setting: TrustProxySetting): TrustFunction | false {
  if (!trustsAProxy(setting)) return false;
  if (setting === true) return () => true;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  const list = entries(setting as string | readonly string[]);
  const problems = list.flatMap((entry) => addressEntryProblem(entry) ?? []);
  // The config check refuses these first; a caller that skipped it must not get a silent default.
  if (problems.length > 0) throw new TypeError(`trustProxy: ${problems.join('; ')}`);
  return proxyAddr.compile(list);
}

/**
 * One `X-Forwarded-For` entry as a bare IP address, or undefined when it is none. Some proxies
 * append the client's port (`192.0.2.7:51234`, `[2001:db8::7]:443`, e.g. Azure Application
 * Gateway); read as written, every connection of one client would be another "address" to the
 * per-address throttle, and the session, the audit log and the upstream would carry the text.
 */
export function forwardedEntryAddress(entry: string): string | undefined {
  const text = entry.trim();
  if (isIP(text) !== 0) return text.toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed?.[1] !== undefined) return isIP(bracketed[1]) === 6 ? bracketed[1].toLowerCase() : undefined;
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(text);
  if (withPort?.[1] !== undefined && isIP(withPort[1]) === 4) return withPort[1];
  return undefined;
}

/**
 * Rewrites `X-Forwarded-For` in place before anyone reads the client address: each entry as a
 * bare IP ({@link forwardedEntryAddress}), and an entry that is no IP at all cut together with
 * everything to its left. A hop we cannot read cannot be vouched for, and neither can what it
 * passed on, so the nearest readable hop is the client (fail closed, as for an untrusted hop):
 * no arbitrary text becomes "the client address" — not in the throttle key, the session, the
 * audit log or the upstream's X-Forwarded-For.
 * @see https://www.rfc-editor.org/rfc/rfc7239#section-5.2 (node identifiers: an IP, optionally a port)
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html (log injection)
 */
export function normaliseForwardedFor(headers: IncomingMessage['headers']): void {
  const header = headers['x-forwarded-for'];
  if (header === undefined) return;
  const entries = (Array.isArray(header) ? header.join(',') : header).split(',');
  const kept: string[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i] ?? '';
    // Empty entries (`a,,b`, a trailing comma) carry nothing: proxy-addr skips them too.
    if (entry.trim() === '') continue;
    const address = forwardedEntryAddress(entry);
    if (address === undefined) break;
    kept.unshift(address);
  }
  if (kept.length === 0) delete headers['x-forwarded-for'];
  else headers['x-forwarded-for'] = kept.join(', ');
}

/**
 * The client address of a raw request (a WebSocket upgrade, which Fastify never sees), by the
 * same rule as Fastify's `request.ip`.
 */
export function clientAddress(request: IncomingMessage, trust: TrustFunction | false): string {
  if (trust === false) return request.socket.remoteAddress ?? '';
  normaliseForwardedFor(request.headers);
  return proxyAddr(request, trust);
}

/** {@link clientAddress} under one trust rule, for what takes raw requests (upgrades, the dev server). */
export function clientAddressResolver(trust: TrustFunction | false): (request: IncomingMessage) => string {
  return (request) => clientAddress(request, trust);
}
