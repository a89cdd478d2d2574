import type { ConfigProblem } from '../../errors.js';
import { trustProxyProblems } from '../trust-proxy-forms.js';
import type { PartialConfig } from './types.js';

/** `trustProxy`: forms proxy-addr reads as meant, and never "trust every hop" in production. */
export function checkTrustProxy(c: PartialConfig): ConfigProblem[] {
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
