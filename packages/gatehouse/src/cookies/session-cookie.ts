import { type SessionCookieSettings, sessionCookie } from './definitions.js';
import { parseCookies, type RequestCookies } from './request-cookies.js';
import { type CookieDefinition, expireCookie, serializeCookie } from './set-cookie.js';

export type { SessionCookieSettings } from './definitions.js';

/** Longest cookie value we will even look at. A session token is 43 characters. */
const MAX_VALUE_LENGTH = 256;

/**
 * Reads and writes the session cookie (defined in definitions.ts, written by the one serializer,
 * set-cookie.ts), which enforces the cookie-prefix rules again at the point of writing, so no code
 * path can emit a weaker cookie than the one validated at start-up.
 */
export class SessionCookie {
  readonly name: string;
  private readonly cookie: CookieDefinition;
  private readonly clearHeader: string;

  constructor(settings: SessionCookieSettings) {
    this.cookie = sessionCookie(settings);
    this.name = this.cookie.name;
    // Logout expires the cookie with the same attributes, or the browser would keep the original.
    this.clearHeader = expireCookie(this.cookie);
  }

  /** The `Set-Cookie` value that carries a new session token. */
  serialize(token: string, maxAgeSeconds?: number): string {
    return serializeCookie(this.cookie, token, maxAgeSeconds);
  }

  /** The `Set-Cookie` value that removes the cookie. */
  clear(): string {
    return this.clearHeader;
  }

  /** The session token from a `Cookie` header, or undefined: {@link SessionCookie.readFrom} on that header. */
  read(header: string | undefined): string | undefined {
    return this.readFrom(parseCookies(header));
  }

  /**
   * The session token from a request's cookies (`requestCookies(request)`), or undefined.
   * Malformed or oversized values are treated as absent: they can never match a session, so there
   * is nothing to look up.
   *
   * The token is the value of the session cookie when every copy in the header carries the same
   * one; undefined when copies disagree. A browser holds one `__Host-` cookie of a name for this
   * host, so two values mean another party slipped one in (a nameless cookie `=__Host-…=…` from a
   * sibling subdomain in browsers that predate RFC 6265bis §5.7's ban, sorted first by a longer
   * Path per §5.8.3). Choosing either would let that party pick the session the user acts in
   * (session fixation, OWASP Session Management Cheat Sheet): ambiguous means no session.
   */
  readFrom(cookies: RequestCookies): string | undefined {
    const value = cookies.only(this.name);
    if (value === undefined || value.length === 0 || value.length > MAX_VALUE_LENGTH) return undefined;
    return value;
  }
}
