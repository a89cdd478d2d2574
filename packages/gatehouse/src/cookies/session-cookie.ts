import { parse, serialize, type SerializeOptions } from 'cookie';

/** The cookie attributes Gatehouse will write. Validated at start-up (config/validate.ts). */
export interface SessionCookieSettings {
  name: string;
  sameSite: 'strict' | 'lax' | 'none';
  secure: boolean;
  httpOnly: boolean;
  path: string;
  domain?: string | undefined;
  /** Max-Age in seconds, or undefined for a browser-session cookie. */
  maxAgeSeconds?: number | undefined;
}

/** RFC 6265bis §5.5: user agents cap a cookie's lifetime at 400 days; we never ask for more. */
export const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 60 * 60;

/** Longest cookie value we will even look at. A session token is 43 characters. */
const MAX_VALUE_LENGTH = 256;

/**
 * Cookie values are read as sent, not percent-decoded: Gatehouse writes base64url tokens, which
 * need no encoding, and RFC 6265bis §5.6 stores a value as the octets sent. One spelling per token.
 */
const RAW = { decode: (value: string) => value };

/**
 * Reads and writes the session cookie with the `cookie` package's parser and serializer,
 * and enforces the cookie-prefix rules again at the point of writing, so no code path can
 * emit a weaker cookie than the one validated at start-up.
 */
export class SessionCookie {
  readonly name: string;
  private readonly options: SerializeOptions;
  private readonly clearHeader: string;

  constructor(settings: SessionCookieSettings) {
    assertPrefixRules(settings);
    this.name = settings.name;
    this.options = {
      httpOnly: settings.httpOnly,
      secure: settings.secure,
      sameSite: settings.sameSite,
      path: settings.path,
      ...(settings.domain ? { domain: settings.domain } : {}),
      ...(settings.maxAgeSeconds !== undefined
        ? { maxAge: Math.min(settings.maxAgeSeconds, MAX_COOKIE_AGE_SECONDS) }
        : {}),
    };
    // Logout expires the cookie with the same attributes, or the browser would keep the original.
    this.clearHeader = serialize(this.name, '', { ...this.options, maxAge: 0, expires: new Date(0) });
  }

  /** The `Set-Cookie` value that carries a new session token. */
  serialize(token: string, maxAgeSeconds?: number): string {
    const options =
      maxAgeSeconds !== undefined && this.options.maxAge !== undefined
        ? { ...this.options, maxAge: Math.max(0, Math.min(maxAgeSeconds, this.options.maxAge)) }
        : this.options;
    return serialize(this.name, token, options);
  }

  /** The `Set-Cookie` value that removes the cookie. */
  clear(): string {
    return this.clearHeader;
  }

  /**
   * The session token from a `Cookie` header, or undefined. Malformed or oversized values are
   * treated as absent: they can never match a session, so there is nothing to look up.
   */
  read(header: string | undefined): string | undefined {
    if (!header) return undefined;
    const first = header.indexOf(this.name);
    if (first === -1) return undefined;
    // The name appears once: one parse. Otherwise every pair is parsed on its own, because
    // parse() keeps only the first of several cookies with one name.
    const value =
      header.indexOf(this.name, first + 1) === -1 ? parse(header, RAW)[this.name] : this.onlyValue(header);
    if (value === undefined || value.length === 0 || value.length > MAX_VALUE_LENGTH) return undefined;
    return value;
  }

  /**
   * The value of the session cookie when every copy in the header carries the same one; undefined
   * when copies disagree. A browser holds one `__Host-` cookie of a name for this host, so two
   * values mean another party slipped one in (a nameless cookie `=__Host-…=…` from a sibling
   * subdomain in browsers that predate RFC 6265bis §5.7's ban, sorted first by a longer Path per
   * §5.8.3). Choosing either would let that party pick the session the user acts in (session
   * fixation, OWASP Session Management Cheat Sheet): ambiguous means no session.
   */
  private onlyValue(header: string): string | undefined {
    let value: string | undefined;
    for (const pair of header.split(';')) {
      const candidate = parse(pair, RAW)[this.name];
      if (candidate === undefined) continue;
      if (value !== undefined && candidate !== value) return undefined;
      value = candidate;
    }
    return value;
  }
}

function assertPrefixRules(s: SessionCookieSettings): void {
  // RFC 6265bis §4.1.3.2: __Host- requires Secure, Path=/ and no Domain.
  if (s.name.startsWith('__Host-') && (!s.secure || s.path !== '/' || s.domain)) {
    throw new TypeError(`cookie ${s.name}: the __Host- prefix requires Secure, Path=/ and no Domain`);
  }
  // RFC 6265bis §4.1.3.1: __Secure- requires Secure.
  if (s.name.startsWith('__Secure-') && !s.secure) {
    throw new TypeError(`cookie ${s.name}: the __Secure- prefix requires Secure`);
  }
}
