// createGatehouseClient and GatehouseClientError are imported for the TSDoc links only.
import type { createGatehouseClient } from './client.js';
import type { GatehouseClock } from './clock.js';
import type { GatehouseClientError } from './errors.js';

/**
 * What the gateway tells the browser about a signed-in user: profile fields and the claims the
 * gateway maps from the provider (`roles`, `email`, …). Never a token.
 */
export interface GatehouseUser {
  /** Stable id: the local account id, or `<provider>:<sub>` for a federated user. */
  id: string;
  username?: string;
  name?: string;
  email?: string;
  roles: string[];
  /** Claims a gateway configuration may add beyond the fields above. */
  [claim: string]: unknown;
}

/** The current session, as answered by `GET /auth/session`. Times are the gateway's. */
export interface GatehouseSession {
  user: GatehouseUser;
  /** `local`, or the id of the OpenID provider the user signed in with. */
  provider: string;
  /** Public handle of this session (the id in the devices list). Not the cookie's token. */
  id: string;
  createdAt: Date;
  /** Absolute expiry: fixed at sign-in, never extended. */
  expiresAt: Date;
  /** Idle expiry as of this answer. Every request to the gateway slides it, up to {@link expiresAt}. */
  idleExpiresAt: Date;
  /**
   * Anti-forgery token for plain HTML forms (field `_csrf`). Requests made with
   * {@link GatehouseClient.fetch} do not need it: they carry `X-CSRF: 1`.
   */
  csrfToken: string;
}

/** One row of "your devices": a live session of the same user. */
export interface GatehouseDevice {
  /** Pass to {@link GatehouseClient.revoke}. */
  id: string;
  /** True for the session of this browser. */
  current: boolean;
  provider: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/** A configured OpenID provider, as listed by `GET /auth/providers`. */
export interface GatehouseProvider {
  id: string;
  /** Display name. */
  name: string;
  /** Where a top-level navigation starts the sign-in (without `returnTo`). */
  loginUrl: string;
}

/** The sign-in methods the gateway offers. */
export interface GatehouseProviders {
  /** Whether username + password sign-in (`POST /auth/login`) is enabled. */
  local: boolean;
  providers: GatehouseProvider[];
}

/**
 * Why the client considers the user signed out.
 * - `logout`: this client called {@link GatehouseClient.logout}.
 * - `revoked`: this client revoked its own session ({@link GatehouseClient.revoke} with the current id).
 * - `session_expired`: the absolute timeout passed (the client's timer, no request needed), or the
 *   gateway refused the session after its known idle expiry.
 * - `unauthenticated`: the gateway answered `401 unauthenticated` before any known expiry: revoked
 *   from another device, ended by the provider (back-channel logout), or never signed in.
 */
export type SignedOutReason = 'logout' | 'revoked' | 'session_expired' | 'unauthenticated';

/** The client's view of the session. Replaced (never mutated) on every change. */
export type GatehouseState =
  | { status: 'unknown' }
  | { status: 'signed-in'; session: GatehouseSession }
  | { status: 'signed-out'; reason: SignedOutReason };

/** Payload of the `signedout` event. */
export interface SignedOutEvent {
  reason: SignedOutReason;
  /** The gateway's error code when a response said so (e.g. `unauthenticated`). */
  code?: string;
  /** The HTTP status of that response. */
  status?: number;
}

/** Payload of the `expiring` event. */
export interface ExpiringEvent {
  session: GatehouseSession;
  /** The absolute expiry (the gateway's time). */
  expiresAt: Date;
  /** Milliseconds left when the event fired. */
  remainingMs: number;
}

/** The events of {@link GatehouseClient.on} and their payloads. */
export interface GatehouseEvents {
  /** The state changed: signed in, signed out, or a new view of the session. */
  change: GatehouseState;
  /** The session ended (or turned out not to exist). Fired once per transition. */
  signedout: SignedOutEvent;
  /**
   * The absolute expiry is `expiryWarningMs` away (once per session). After the machine slept
   * past that point, it fires when the page is visible, focused or online again (`remainingMs`
   * may then be 0, followed at once by `signedout`).
   */
  expiring: ExpiringEvent;
}

/** Username + password sign-in. */
export interface LocalLogin {
  username: string;
  password: string;
  /**
   * A same-origin path to go to after signing in (`location.assign`). Anything else (another
   * origin, `//host`, backslashes) is ignored and the page stays where it is.
   */
  returnTo?: string;
}

/** Sign-in through an OpenID provider: a top-level navigation through the gateway and back. */
export interface FederatedLogin {
  /** A provider id from {@link GatehouseClient.providers}. */
  provider: string;
  /**
   * The path to come back to; default: the current page. Anything but a path on this origin
   * (checked after normalising: `/.//evil.example` is `//evil.example`) is replaced by the current
   * page; the gateway checks again.
   */
  returnTo?: string;
}

/** Options of {@link createGatehouseClient}. Every one has a browser default. */
export interface GatehouseClientOptions {
  /** The gateway's auth prefix (its `auth.prefix`). Default `/auth`. */
  prefix?: string;
  /** The `fetch` to send requests with. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** How long before the absolute expiry the `expiring` event fires, in ms. Default 60 000; 0: never. */
  expiryWarningMs?: number;
  /** Clock and timers for the expiry events. Default: `Date.now` and the global timers. */
  clock?: GatehouseClock;
  /** Top-level navigation (federated sign-in, provider logout, `returnTo`). Default: `location.assign`. */
  navigate?: (url: string) => void;
  /**
   * The page's origin where there is no `location` (tests, server-side rendering), e.g.
   * `https://app.example`. Only requests to the page's origin get `X-CSRF` and have their 401
   * looked at. In a browser `location.origin` is used and this is ignored; without either, only
   * relative URLs count as the page's own.
   */
  origin?: string;
}

/**
 * The browser side of Gatehouse. The browser holds one HttpOnly cookie and no token; this client
 * adds what a page needs around it: the `X-CSRF` header, the session and its expiry, sign-in,
 * sign-out and the devices list. Create one per page with {@link createGatehouseClient}.
 */
export interface GatehouseClient {
  /** The current state; a new object after every `change`. */
  readonly state: GatehouseState;
  /**
   * `fetch` for requests to the gateway's origin (its API routes, protected files, `/auth`).
   * Always `credentials: 'same-origin'`; unsafe methods (anything but GET, HEAD, OPTIONS) to the
   * page's own origin carry `X-CSRF: 1`, without which the gateway refuses them (403
   * `csrf_rejected`). A request to another origin is passed through as it is (no header), and its
   * 401 changes nothing.
   *
   * It resolves with every Response, whatever its status, and rejects only where `fetch` does.
   * A `401 {"error":"unauthenticated"}` from the page's origin additionally moves the client to
   * signed out and emits `signedout`, so the page can show its sign-in view from the event alone.
   * Under the auth prefix (only the gateway answers there) this happens before the Response is
   * handed back. Elsewhere, where an upstream API may answer 401 about its own credentials, the
   * Response is handed back at once and a `GET /auth/session` confirms in the background that the
   * session is gone; `signedout` follows its 401. The caller never waits for the confirmation, so
   * a slow or hung gateway cannot hold it (the caller's `AbortSignal` covers only its own request).
   * Only a `GET /auth/session` sent after the 401'd request can confirm: an older one's 200 may
   * predate the end of the session. Redirects are left to `init.redirect`: the gateway never answers a fetch with a
   * redirect to a login page (only top-level navigations are redirected), so a request cannot end
   * in a cross-origin login page.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /**
   * The session: the cached one when the state is known, otherwise `GET /auth/session` (shared
   * with one already on its way). Null when signed out.
   */
  session(): Promise<GatehouseSession | null>;
  /**
   * Asks the gateway again (`GET /auth/session`), which also slides the idle expiry. Null when
   * signed out. The answer is never one to a request sent before the call (one already on its
   * way may describe the session as it was, e.g. before the page went into the back/forward
   * cache); calls made in the same task share one request.
   */
  refreshSession(): Promise<GatehouseSession | null>;
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof GatehouseEvents>(event: E, listener: (payload: GatehouseEvents[E]) => void): () => void;
  /**
   * Username + password sign-in (`POST /auth/login`). Resolves with the new session (and goes to
   * `returnTo` when it is a same-origin path); throws {@link GatehouseClientError} with code
   * `invalid_credentials` (401, also for an unknown user), `login_throttled` (429, `retryAfter`)
   * or `server_busy` (503).
   */
  login(credentials: LocalLogin): Promise<GatehouseSession>;
  /**
   * Sign-in through an OpenID provider: navigates to `/auth/login?provider=…&returnTo=…`, with
   * `returnTo` only when it is a path on this origin (checked after normalising), the current page
   * otherwise. The gateway does the protocol and brings the browser back to `returnTo` with a session cookie;
   * the page loads anew, so the promise has nothing to resolve with.
   */
  login(federated: FederatedLogin): Promise<void>;
  /** The sign-in methods the gateway offers (`GET /auth/providers`, cached after the first answer). */
  providers(): Promise<GatehouseProviders>;
  /**
   * Signs out (`POST /auth/logout`): the gateway ends the session and expires the cookie. Emits
   * `signedout` (reason `logout`); for a federated session the answer carries the provider's
   * end-session URL, and the client navigates there (the provider sends the browser back) when it
   * is `https:` (`http:` on localhost only) without userinfo. The gateway expires the cookie only
   * once the session has ended, so only a 2xx signs this client out. A refusal leaves the session
   * live and the state as it was, and is thrown: `store_unavailable` (503, the session store is
   * down) carries `retryAfter` seconds, after which calling `logout()` again ends it. So does no
   * answer at all (`network_error`).
   *
   * @example
   * try { await gatehouse.logout(); } catch (e) {
   *   if (e instanceof GatehouseClientError && e.code === 'store_unavailable') retryLater(e.retryAfter ?? 2);
   * }
   */
  logout(): Promise<{ redirect?: string }>;
  /** The user's live sessions ("your devices"), newest first. */
  sessions(): Promise<GatehouseDevice[]>;
  /** Ends one of the user's sessions. Revoking the current one signs this client out (reason `revoked`). */
  revoke(id: string): Promise<void>;
  /** Ends every session of the user except this one; resolves with how many ended. */
  revokeOthers(): Promise<number>;
  /**
   * Changes a local account's password (`POST /auth/password`). The gateway ends every other
   * session and continues this one under a fresh id; resolves with it.
   */
  changePassword(passwords: { currentPassword: string; newPassword: string }): Promise<GatehouseSession>;
  /**
   * Stops the expiry timers, drops every listener and removes the client's own `visibilitychange`,
   * `focus` and `online` listeners (e.g. when the app unmounts). Answers to requests still on
   * their way change nothing after it: no state, no timers, no events.
   */
  close(): void;
}
