import type { ConfigProblem } from '../../errors.js';
import { isLoopbackHost } from '../origin.js';
import type { PartialConfig } from './types.js';

/** `providers[]`: unique ids, one client authentication, the openid scope, an HTTPS issuer. */
export function checkProviders(c: PartialConfig): ConfigProblem[] {
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
