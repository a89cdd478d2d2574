import type { ConfigProblem } from '../../errors.js';
import { parseOrigin } from '../origin.js';
import type { PartialConfig } from './types.js';

/** `publicOrigin`: a bare origin, and HTTPS in production. */
export function checkPublicOrigin(c: PartialConfig): ConfigProblem[] {
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
