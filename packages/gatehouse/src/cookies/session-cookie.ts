import { type SessionCookieSettings, sessionCookie } from './definitions.js';
import { parseCookies, type RequestCookies } from './request-cookies.js';
import { GatehouseError } from '../errors.js';
import { type CookieDefinition, expireCookie, serializeCookie } from './set-cookie.js';

export type { SessionCookieSettings } from './definitions.js';

/** Longest cookie value we will even look at in server mode. A session token is 43 characters. */
const MAX_VALUE_LENGTH = 256;

/** RFC 6265bis §5.7 / §4.1.1: browsers keep a cookie whose name + value fit in 4096 bytes, and drop a longer one without a word. */
export const MAX_COOKIE_BYTES = 4096;

/** The base cookie's value when the session is split: `chunks-<n>`; the parts are `<name>-c1` … `<name>-c<n>`. */
const CHUNKS = /^chunks-([1-9])$/;

/**
 * Reads and writes the session cookie (defined in definitions.ts, written by the one serializer,
 * set-cookie.ts), which enforces the cookie-prefix rules again at the point of writing, so no code
 * path can emit a weaker cookie than the one validated at start-up.
 */
export class SessionCookie {
  readonly name: string;
  /** Cookie mode: the most bytes (names + values, every chunk) the session may take. Undefined in server mode: one short token. */
  readonly maxBytes: number | undefined;
  private readonly cookie: CookieDefinition;
  private readonly clearHeader: string;
  private readonly chunkPrefix: string;
  private readonly chunkDefinitions: CookieDefinition[];

  /** `maxBytes` switches on chunking (cookie mode, `session.cookie.maxBytes`). */
  constructor(settings: SessionCookieSettings, options: { maxBytes?: number | undefined } = {}) {
    this.cookie = sessionCookie(settings);
    this.name = this.cookie.name;
    this.maxBytes = options.maxBytes;
    // Logout expires the cookie with the same attributes, or the browser would keep the original.
    this.clearHeader = expireCookie(this.cookie);
    this.chunkPrefix = `${this.name}-c`;
    // As many chunks as the ceiling allows (at most 9: one digit in `chunks-<n>`), same attributes.
    const most = this.maxBytes === undefined ? 0 : Math.min(9, Math.ceil(this.maxBytes / (MAX_COOKIE_BYTES - this.name.length - 8)));
    this.chunkDefinitions = Array.from({ length: most }, (_, i) => sessionCookie({ ...settings, name: `${this.chunkPrefix}${i + 1}` }));
  }

  /** True when the cookie outlives the browser session (Max-Age set, `session.cookie.persistent`). */
  get persistent(): boolean {
    return this.cookie.maxAgeSeconds !== undefined;
  }

  /**
   * True when `value` can be written within {@link maxBytes} (cookie mode). A sealed session that
   * does not fit is refused where it is made (`session_too_large`), never written and dropped.
   */
  fits(value: string): boolean {
    if (this.maxBytes === undefined) return value.length <= MAX_VALUE_LENGTH;
    const parts = this.split(value);
    return parts !== null && parts.reduce((sum, [name, v]) => sum + name.length + v.length, 0) <= this.maxBytes;
  }

  /**
   * The `Set-Cookie` values that carry `value`: one cookie when name + value fit in 4096 bytes,
   * else `<name>=chunks-<n>` and the parts `<name>-c1…n`. Chunks the browser holds from an earlier,
   * longer session (`present`, the request's cookies) and no longer needed are expired in the same
   * answer, so no stale part is ever read with new ones.
   * @throws GatehouseError `session_too_large` when the value does not fit {@link maxBytes}.
   */
  write(value: string, maxAgeSeconds: number | undefined, present?: RequestCookies): string[] {
    if (this.maxBytes === undefined) return [this.serialize(value, maxAgeSeconds)];
    if (!this.fits(value)) throw new GatehouseError('session_too_large');
    const parts = this.split(value) as [string, string][];
    const headers: string[] = [];
    if (parts.length === 1) {
      headers.push(this.serialize(value, maxAgeSeconds));
    } else {
      headers.push(this.serialize(`chunks-${parts.length - 1}`, maxAgeSeconds));
      parts.slice(1).forEach(([, chunk], i) => headers.push(serializeCookie(this.chunkDefinitions[i] as CookieDefinition, chunk, maxAgeSeconds)));
    }
    const used = parts.length === 1 ? 0 : parts.length - 1;
    for (const name of this.presentChunks(present)) {
      const index = Number(name.slice(this.chunkPrefix.length));
      if (index > used) headers.push(expireCookie(this.chunkDefinitions[index - 1] as CookieDefinition));
    }
    return headers;
  }

  /** The `Set-Cookie` values that remove the session cookie and every chunk of it the browser sent. */
  clearAll(present?: RequestCookies): string[] {
    const names = this.presentChunks(present);
    return [this.clearHeader, ...names.map((name) => expireCookie(this.chunkDefinitions[Number(name.slice(this.chunkPrefix.length)) - 1] as CookieDefinition))];
  }

  /** Names of this session's chunk cookies in the request (only those this ceiling can have written). */
  private presentChunks(present: RequestCookies | undefined): string[] {
    if (this.chunkDefinitions.length === 0 || !present) return [];
    return present
      .startingWith(this.chunkPrefix)
      .map(([name]) => name)
      .filter((name) => /^[1-9]$/.test(name.slice(this.chunkPrefix.length)) && Number(name.slice(this.chunkPrefix.length)) <= this.chunkDefinitions.length);
  }

  /**
   * `value` as [name, value] pairs: itself under the base name when it fits one cookie; else the
   * base `chunks-<n>` and n parts, each part's name + value within 4096 bytes. Null when it needs
   * more chunks than this ceiling has.
   */
  private split(value: string): [string, string][] | null {
    if (this.name.length + value.length <= MAX_COOKIE_BYTES) return [[this.name, value]];
    const size = MAX_COOKIE_BYTES - this.chunkPrefix.length - 1;
    const count = Math.ceil(value.length / size);
    if (count > this.chunkDefinitions.length) return null;
    const parts: [string, string][] = [[this.name, `chunks-${count}`]];
    for (let i = 0; i < count; i++) parts.push([`${this.chunkPrefix}${i + 1}`, value.slice(i * size, (i + 1) * size)]);
    return parts;
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
    if (value === undefined || value.length === 0) return undefined;
    if (this.maxBytes === undefined) return value.length > MAX_VALUE_LENGTH ? undefined : value;
    if (this.name.length + value.length > MAX_COOKIE_BYTES) return undefined;
    const chunked = CHUNKS.exec(value);
    if (!chunked) return value;
    // Cookie mode, split: every part present, each under the same one-copy rule, or no session.
    // Parts of two sessions put together fail the JWE's authentication tag where they are opened.
    const count = Number(chunked[1]);
    if (count > this.chunkDefinitions.length) return undefined;
    let joined = '';
    for (let i = 1; i <= count; i++) {
      const part = cookies.only(`${this.chunkPrefix}${i}`);
      if (part === undefined || part.length === 0) return undefined;
      joined += part;
      if (joined.length > this.maxBytes) return undefined;
    }
    return joined;
  }

  /**
   * True when the request sent the base session cookie (whatever its value). A request that sent
   * only chunks has no session either; their clearing goes with the next {@link clearAll}.
   */
  sentBy(cookies: RequestCookies): boolean {
    return cookies.first(this.name) !== undefined;
  }
}
