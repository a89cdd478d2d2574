import type { ConfigProblem } from '../../errors.js';
import { trustsAProxy } from '../trust-proxy-forms.js';
import { isLoopbackHost } from '../origin.js';
import { formatDuration } from './format.js';
import type { PartialConfig } from './types.js';

/** `listen.tls`: plain HTTP only behind a TLS-terminating proxy, or on loopback in development. */
export function checkListenerTls(c: PartialConfig): ConfigProblem[] {
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

/** `listen.headersTimeout` within `listen.requestTimeout`. */
export function checkListenerLimits(c: PartialConfig): ConfigProblem[] {
  const listen = c.listen;
  // Node refuses to start a server whose headers may take longer than the whole request.
  if (!listen || listen.headersTimeout <= listen.requestTimeout) return [];
  const message = `${formatDuration(listen.headersTimeout)} is longer than listen.requestTimeout (${formatDuration(listen.requestTimeout)}), which bounds the whole request, headers included: lower it, or raise listen.requestTimeout.`;
  return [{ key: 'listen.headersTimeout', message }];
}
