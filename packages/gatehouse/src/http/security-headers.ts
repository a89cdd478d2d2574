import type { GatehouseConfig } from '../config/schema.js';

/**
 * The headers every response carries, computed once at start-up (they never vary per request,
 * so the hot path only copies a frozen object).
 * OWASP HTTP Headers Cheat Sheet; RFC 6797 (HSTS); CSP Level 3 `frame-ancestors`.
 */
export function securityHeaders(config: GatehouseConfig, https: boolean): Readonly<Record<string, string>> {
  const h = config.headers;
  const headers: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': h.referrerPolicy,
    // Legacy twin of CSP frame-ancestors for browsers that predate it: the SPA is never framed.
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'x-permitted-cross-domain-policies': 'none',
  };
  if (h.contentSecurityPolicy !== false) headers['content-security-policy'] = h.contentSecurityPolicy;
  // RFC 6797 §7.2: HSTS only means something over a secure transport.
  if (https && h.hsts.maxAge > 0) {
    headers['strict-transport-security'] =
      `max-age=${h.hsts.maxAge}${h.hsts.includeSubDomains ? '; includeSubDomains' : ''}${h.hsts.preload ? '; preload' : ''}`;
  }
  return Object.freeze(headers);
}
