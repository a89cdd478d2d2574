import type { ConfigProblem } from '../../errors.js';
import type { PartialConfig } from './types.js';

/** `session.cookie`: the `__Host-` rules, Secure, HttpOnly and a SameSite that is not None. */
export function checkCookie(c: PartialConfig): ConfigProblem[] {
  const cookie = c.session?.cookie;
  if (!cookie) return [];
  const problems: ConfigProblem[] = [];
  const key = (name: string) => `session.cookie.${name}`;
  // SameSite=None sends the cookie on cross-site requests, the CSRF vector SameSite exists to close (RFC 6265bis §8.8).
  if (cookie.sameSite === 'none') {
    const message =
      '"none" is refused: cross-site requests would carry the session, and Gatehouse serves one origin, so no legitimate request is cross-site. Use "strict" (the default) or "lax".';
    problems.push({ key: key('sameSite'), message });
  }
  // __Host- cookies must be Secure (RFC 6265bis §4.1.3.2); Secure keeps the session off plain HTTP (§4.1.2.5).
  if (!cookie.secure) {
    const message =
      'false is refused: the session would be sent over plain HTTP, and a __Host- cookie must be Secure (RFC 6265bis §4.1.3.2). Remove the key (browsers accept Secure cookies on http://localhost).';
    problems.push({ key: key('secure'), message });
  }
  // HttpOnly keeps the session out of reach of injected scripts (RFC 6265bis §4.1.2.6; OWASP Session Management Cheat Sheet).
  if (!cookie.httpOnly) {
    const message =
      'false is refused: any script on the page (an XSS, a compromised dependency) could read and exfiltrate the session. Remove the key: the SPA never needs the cookie, it calls /auth/session.';
    problems.push({ key: key('httpOnly'), message });
  }
  // A __Host- cookie has no Domain attribute, so it stays with the one host that set it (RFC 6265bis §4.1.3.2).
  if (cookie.domain !== undefined) {
    const message =
      'refused: a Domain attribute shares the cookie with every subdomain (any of which could read or overwrite the session), and the __Host- prefix forbids it (RFC 6265bis §4.1.3.2). Remove the key.';
    problems.push({ key: key('domain'), message });
  }
  // The __Host- prefix makes the browser enforce Secure, Path=/ and no Domain (RFC 6265bis §4.1.3.2).
  if (!cookie.name.startsWith('__Host-') || cookie.name.length === '__Host-'.length) {
    const message = `"${cookie.name}" is refused: the name must start with "__Host-" so browsers reject a copy set by a subdomain or over plain HTTP (RFC 6265bis §4.1.3.2). Use e.g. "__Host-${cookie.name.replace(/^__(Host|Secure)-/i, '') || 'gatehouse'}".`;
    problems.push({ key: key('name'), message });
  }
  // A __Host- cookie must have Path=/ (RFC 6265bis §4.1.3.2).
  if (cookie.path !== '/') {
    const message = `"${cookie.path}" is refused: a __Host- cookie must have Path=/ (RFC 6265bis §4.1.3.2), and Path is no security boundary anyway. Remove the key.`;
    problems.push({ key: key('path'), message });
  }
  return problems;
}
