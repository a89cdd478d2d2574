import type { IncomingMessage } from 'node:http';
import { type Cookies, parse } from 'cookie';

/**
 * Values are read as sent, not percent-decoded: Gatehouse writes base64url tokens and JWEs, which
 * need no encoding, and RFC 6265bis §5.6 stores a value as the octets sent. One spelling per value.
 */
const RAW = { decode: (value: string) => value };

/**
 * The cookies of one request's `Cookie` header, parsed once (with the `cookie` package's parser)
 * and only when a reader first asks: a request for a static asset never pays for it.
 */
export interface RequestCookies {
  /** The `Cookie` header this was parsed from. */
  readonly header: string | undefined;
  /** The value of the first pair named `name` (the parser keeps the first of several), as sent. */
  first(name: string): string | undefined;
  /**
   * The value of `name` when every pair of that name in the header carries the same one; undefined
   * when there is none or the copies disagree (SessionCookie explains why that must mean "none").
   */
  only(name: string): string | undefined;
  /** Every cookie whose name starts with `prefix`, first value of each name, in header order. */
  startingWith(prefix: string): [string, string][];
}

/** The cookies of a `Cookie` header. Prefer {@link requestCookies}, which parses once per request. */
export function parseCookies(header: string | undefined): RequestCookies {
  let parsed: Cookies | undefined;
  // A name that is not a substring of the header cannot be a cookie of it: no parse needed.
  const all = () => (parsed ??= parse(header as string, RAW));
  return {
    header,
    first(name) {
      if (!header?.includes(name)) return undefined;
      return all()[name];
    },
    only(name) {
      if (!header) return undefined;
      const first = header.indexOf(name);
      if (first === -1) return undefined;
      // The name appears once: the one parse answers. Otherwise every pair is parsed on its own,
      // because parse() keeps only the first of several cookies with one name.
      if (header.indexOf(name, first + 1) === -1) return all()[name];
      let value: string | undefined;
      for (const pair of header.split(';')) {
        const candidate = parse(pair, RAW)[name];
        if (candidate === undefined) continue;
        if (value !== undefined && candidate !== value) return undefined;
        value = candidate;
      }
      return value;
    },
    startingWith(prefix) {
      if (!header?.includes(prefix)) return [];
      return Object.entries(all()).filter((entry): entry is [string, string] => entry[0].startsWith(prefix) && typeof entry[1] === 'string');
    },
  };
}

const perRequest = new WeakMap<IncomingMessage, RequestCookies>();

/**
 * The cookies of this request, parsed once however many readers ask (the session, the CSRF
 * token check through it, the login transaction, the device cookie). Keyed by Node's request
 * object, so a Fastify request and the raw upgrade request of a WebSocket share one answer; parsed
 * again only if the `Cookie` header was replaced in between.
 */
export function requestCookies(request: IncomingMessage | { readonly raw: IncomingMessage }): RequestCookies {
  const message = 'raw' in request ? request.raw : request;
  const header = message.headers.cookie;
  let cookies = perRequest.get(message);
  if (cookies === undefined || cookies.header !== header) {
    cookies = parseCookies(header);
    perRequest.set(message, cookies);
  }
  return cookies;
}
