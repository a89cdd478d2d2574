import type { ConfigProblem } from '../../errors.js';
import { isLoopbackHost } from '../origin.js';
import { formatDuration } from './format.js';
import type { PartialConfig } from './types.js';

/** Longest internal token lifetime: RFC 9068 tokens are short-lived bearer tokens (RFC 9700 §2.2). */
export const MAX_INTERNAL_TOKEN_LIFETIME_MS = 3_600_000;

/** `internalTokens` and `serviceClient`: short-lived tokens, an HTTPS issuer. */
export function checkServiceTokens(c: PartialConfig): ConfigProblem[] {
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
