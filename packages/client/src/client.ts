import { systemClock } from './clock.js';
import { GatehouseClientError } from './errors.js';
import { Emitter } from './lib/emitter.js';
import { currentPath, isSameOriginPath } from './lib/return-to.js';
import { Timers } from './lib/timers.js';
import { type DeviceJson, isSessionJson, toDevice, toProviders, toSession } from './lib/views.js';
import type {
  FederatedLogin,
  GatehouseClient,
  GatehouseClientOptions,
  GatehouseEvents,
  GatehouseProviders,
  GatehouseSession,
  GatehouseState,
  LocalLogin,
  SignedOutEvent,
  SignedOutReason,
} from './types.js';

/** Methods that never change state, so never need the CSRF header (RFC 9110 §9.2.1). */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * After the known idle expiry, the client asks the gateway whether the session still lives
 * (requests it did not see, from other tabs or `<img>`, slide the idle expiry). Asking a second
 * late keeps the question itself from sliding a session that was about to end: by then the
 * gateway's clock is past the expiry too, and it answers 401.
 */
const IDLE_CHECK_GRACE_MS = 1_000;

/**
 * The origin that relative URLs resolve against where there is no `location` (tests, server-side
 * rendering) and no `origin` option: `.invalid` never names a real host (RFC 2606), so only
 * relative URLs count as the page's own there.
 */
const NO_ORIGIN = 'https://origin.invalid';

/** Hosts where an `http:` end-session URL is no downgrade: the developer's own machine. */
const LOOPBACK: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The provider's end-session URL as a safe navigation target, or undefined: `https:` only (or
 * `http:` on loopback), no userinfo, and no backslash (`https://\evil.example/` parses to host
 * `evil.example`). The URL comes from the gateway, but a `javascript:` one would run in this page.
 */
function endSessionUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.includes('\\')) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '') return undefined;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) ? url.href : undefined;
}

/** True for a JSON object (not null, not an array): the only body shape the gateway answers with. */
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Creates the client. Nothing is sent until a method is called.
 *
 * @example
 * ```ts
 * const gatehouse = createGatehouseClient();
 * gatehouse.on('signedout', () => showSignIn());
 * const session = await gatehouse.session();
 * const answer = await gatehouse.fetch('/api/orders', { method: 'POST', body: JSON.stringify(order) });
 * ```
 */
export function createGatehouseClient(options: GatehouseClientOptions = {}): GatehouseClient {
  const prefix = (options.prefix ?? '/auth').replace(/\/+$/, '');
  const send: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const clock = options.clock ?? systemClock;
  const warningMs = options.expiryWarningMs ?? 60_000;
  const navigate = options.navigate ?? ((url: string) => globalThis.location.assign(url));
  const events = new Emitter<GatehouseEvents>();
  const timers = new Timers(clock);
  const fallbackOrigin = options.origin === undefined ? NO_ORIGIN : new URL(options.origin).origin;
  // The page: only requests to its origin get X-CSRF and have their 401 looked at. Read at each
  // use, as `location.href` moves with the SPA's navigations.
  const page = () => (globalThis as { location?: Partial<Location> }).location;
  const pageOrigin = () => page()?.origin ?? fallbackOrigin;

  let state: GatehouseState = { status: 'unknown' };
  // Bumped whenever the session's identity changes (a new session, or none). The answer to a
  // request sent in an earlier epoch speaks of a session that is no longer this client's: a 401
  // to a request sent before a sign-in must not sign the new session out.
  let epoch = 0;
  // Gateway time minus client time, from the Date header of /auth answers. Estimated from below
  // (the header is truncated to the second and the answer took time to arrive), so expiry timers
  // fire at or after the gateway's expiry, never while the gateway still honours the session.
  let skew = 0;
  let warnedFor: string | undefined;
  // Numbers the requests in the order they are sent (the last one's number). An answer to a
  // request sent before request n may describe the session as it was before n's answer.
  let sent = 0;
  // The GET /auth/session being shared, with its number (none yet: it leaves in a microtask).
  let inFlight: { seq?: number; promise: Promise<GatehouseSession | null> } | undefined;
  let providersCache: Promise<GatehouseProviders> | undefined;
  // After close(), answers still on their way change nothing: no state, no timers, no events.
  let closed = false;

  const gatewayNow = () => clock.now() + skew;

  function setState(next: GatehouseState): void {
    state = next;
    events.emit('change', next);
  }

  function signedIn(session: GatehouseSession): void {
    if (closed) return;
    if (state.status !== 'signed-in' || state.session.id !== session.id) epoch++;
    setState({ status: 'signed-in', session });
    schedule(session);
  }

  function signedOut(reason: SignedOutReason, detail: Omit<SignedOutEvent, 'reason'> = {}): void {
    timers.clear();
    if (closed || state.status === 'signed-out') return;
    epoch++;
    setState({ status: 'signed-out', reason });
    events.emit('signedout', { reason, ...detail });
  }

  function schedule(session: GatehouseSession): void {
    timers.clear();
    const local = (gatewayTime: number) => gatewayTime - skew;
    const expiresAt = session.expiresAt.getTime();
    if (warningMs > 0 && warnedFor !== session.id) {
      timers.at(local(expiresAt - warningMs), () => {
        warnedFor = session.id;
        events.emit('expiring', { session, expiresAt: session.expiresAt, remainingMs: Math.max(0, expiresAt - gatewayNow()) });
      });
    }
    // The absolute timeout is never extended, so the client knows the end without asking: the
    // page shows its sign-in view on time, not at the user's next click.
    timers.at(local(expiresAt), () => signedOut('session_expired'));
    const idleExpiresAt = session.idleExpiresAt.getTime();
    if (idleExpiresAt < expiresAt) {
      timers.at(local(idleExpiresAt) + IDLE_CHECK_GRACE_MS, () => {
        // A failure (offline) leaves the state as it is: the next request will tell.
        refresh(sent).catch(() => undefined);
      });
    }
  }

  /** Why a 401 `unauthenticated` ended the session, judged by the expiries the client knew. */
  function reasonFor401(): SignedOutReason {
    if (state.status !== 'signed-in') return 'unauthenticated';
    const now = gatewayNow();
    const { expiresAt, idleExpiresAt } = state.session;
    return now >= expiresAt.getTime() || now >= idleExpiresAt.getTime() ? 'session_expired' : 'unauthenticated';
  }

  /** The request's URL when it goes to the page's own origin; undefined for any other origin. */
  function ownUrl(input: RequestInfo | URL): URL | undefined {
    try {
      const origin = pageOrigin();
      const url = new URL(typeof input === 'object' && 'url' in input ? input.url : String(input), page()?.href ?? `${origin}/`);
      return url.origin === origin ? url : undefined;
    } catch {
      return undefined;
    }
  }

  /** Reads a 401 `unauthenticated` from the page's origin. `seq`: the request's number. */
  async function observe(url: URL, response: Response, sentIn: number, seq: number): Promise<void> {
    if (closed || response.status !== 401 || sentIn !== epoch) return;
    let code: unknown;
    try {
      // Cloned before the first await, so before the caller can read the body.
      code = ((await response.clone().json()) as { error?: unknown }).error;
    } catch {
      return;
    }
    // Only the gateway's verdict on the session counts: a 401 `invalid_credentials` (a wrong
    // password) says nothing about the session, and neither does an API's own 401.
    if (closed || code !== 'unauthenticated' || sentIn !== epoch) return;
    // Under the auth prefix on this origin, only the gateway itself answers.
    if (url.pathname.startsWith(`${prefix}/`)) {
      signedOut(reasonFor401(), { code, status: 401 });
      return;
    }
    // Elsewhere (/api/…) an upstream may answer 401 "unauthenticated" about its own credentials:
    // the gateway is asked before the user is sent to the sign-in page. Its 401 signs the client
    // out through this very function. Only a request sent after this one can confirm it: an
    // older one's 200 may predate the end of the session.
    await refresh(seq).catch(() => undefined);
  }

  async function gatewayFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
    const request = typeof Request !== 'undefined' && input instanceof Request ? input : undefined;
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    const headers = new Headers(request?.headers);
    new Headers(init.headers).forEach((value, name) => headers.set(name, value));
    // Another origin is not the gateway: no header (it would force a CORS preflight there and
    // tell that site the page uses Gatehouse), and its 401 says nothing about our session.
    const url = ownUrl(input);
    // OWASP CSRF cheat sheet, "custom request headers": another site cannot add it without a
    // CORS preflight, which the gateway never grants.
    if (url && !SAFE_METHODS.has(method)) headers.set('x-csrf', '1');
    const sentIn = epoch;
    const seq = ++sent;
    // The cookie goes to our own origin only, whatever the caller asked for.
    const response = await send(input, { ...init, headers, credentials: 'same-origin' });
    if (url) {
      const seen = observe(url, response, sentIn, seq);
      // Under the auth prefix the 401 is the gateway's verdict: signed out before the Response is
      // handed back. Elsewhere it needs a GET /auth/session to confirm, which the caller does not
      // wait for (its signal does not cover it, and it could hang): `signedout` follows.
      if (url.pathname.startsWith(`${prefix}/`)) await seen;
    }
    return response;
  }

  /** A JSON exchange with `/auth`: the parsed body of a 2xx, a {@link GatehouseClientError} otherwise. */
  async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await gatewayFetch(`${prefix}${path}`, {
        method,
        headers,
        // No /auth JSON endpoint redirects; were one to (a misconfigured proxy in front), the
        // client stops rather than follow it, perhaps to another origin.
        redirect: 'manual',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new GatehouseClientError('network_error', 0, 'The gateway could not be reached.', { cause: error });
    }
    const date = Date.parse(response.headers.get('date') ?? '');
    // /auth answers are the gateway's own and never cached (no-store): their Date is its clock.
    if (!Number.isNaN(date)) skew = date - clock.now();
    if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
      throw new GatehouseClientError('unexpected_redirect', response.status, `${method} ${prefix}${path} answered with a redirect.`);
    }
    // Read before the body: a proxy's HTML 503 page still says when to come back.
    const retryAfter = response.headers.get('retry-after')?.trim() ?? '';
    const extra = /^\d+$/.test(retryAfter) ? { retryAfter: Number(retryAfter) } : {};
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new GatehouseClientError('invalid_response', response.status, `${method} ${prefix}${path} did not answer JSON.`, extra);
    }
    // Every gateway answer is an object: `null`, a number or an array is someone else's.
    if (!isObject(json)) throw new GatehouseClientError('invalid_response', response.status, `${method} ${prefix}${path} did not answer a JSON object.`, extra);
    if (response.ok) return json;
    throw new GatehouseClientError(
      typeof json.error === 'string' ? json.error : 'invalid_response',
      response.status,
      typeof json.message === 'string' ? json.message : `${method} ${prefix}${path} answered ${response.status}.`,
      extra,
    );
  }

  function sessionFrom(json: unknown, status = 200): GatehouseSession {
    if (!isSessionJson(json)) throw new GatehouseClientError('invalid_response', status, 'The session answer is malformed.');
    return toSession(json);
  }

  function current(): GatehouseSession | null {
    return state.status === 'signed-in' ? state.session : null;
  }

  /**
   * `GET /auth/session`, shared with the one in flight only when that one was (or will be) sent
   * after request number `after`: an answer to an older request may be stale.
   */
  function refresh(after: number): Promise<GatehouseSession | null> {
    if (inFlight && (inFlight.seq === undefined || inFlight.seq > after)) return inFlight.promise;
    const entry = {} as NonNullable<typeof inFlight>;
    entry.promise = (async () => {
      // Sent in a microtask: callers in the same task share it, as it leaves after all of them.
      await Promise.resolve();
      const sentIn = epoch;
      try {
        const answer = call('GET', '/session');
        entry.seq = sent; // numbered synchronously by gatewayFetch
        const session = sessionFrom(await answer);
        // A sign-in or sign-out while this was on its way wins over this older answer; after
        // close() the answer changes nothing.
        if (closed || sentIn !== epoch) return current();
        signedIn(session);
        return session;
      } catch (error) {
        // `observe` already moved the state to signed out (a return value, not an exception).
        if (error instanceof GatehouseClientError && error.code === 'unauthenticated') return current();
        throw error;
      } finally {
        if (inFlight === entry) inFlight = undefined;
      }
    })();
    inFlight = entry;
    return entry.promise;
  }

  /** A fresh answer: never one to a request sent before the call. */
  const refreshSession = () => refresh(sent);

  // setTimeout does not count the time a machine sleeps: when the page is back (visible, online,
  // focused) the timers whose time passed run at once. Nothing to listen to outside a browser.
  const view = globalThis as { document?: Document; addEventListener?: Window['addEventListener']; removeEventListener?: Window['removeEventListener'] };
  const doc = view.document;
  const wake = () => {
    if (!closed && doc?.visibilityState !== 'hidden') timers.due();
  };
  doc?.addEventListener?.('visibilitychange', wake);
  for (const type of ['online', 'focus']) view.addEventListener?.(type, wake);

  async function login(input: LocalLogin | FederatedLogin): Promise<GatehouseSession | undefined> {
    if ('provider' in input) {
      // Only a path on this origin, checked after normalising (`/.//evil.example` is another
      // host); otherwise the current page. The gateway checks again and falls back to `/`.
      const returnTo = [input.returnTo, currentPath()].find((path) => path !== undefined && isSameOriginPath(path, pageOrigin())) ?? '/';
      navigate(`${prefix}/login?provider=${encodeURIComponent(input.provider)}&returnTo=${encodeURIComponent(returnTo)}`);
      return undefined;
    }
    const session = sessionFrom(await call('POST', '/login', { username: input.username, password: input.password }));
    signedIn(session);
    if (input.returnTo !== undefined && isSameOriginPath(input.returnTo, pageOrigin())) navigate(input.returnTo);
    return session;
  }

  const client: GatehouseClient = {
    get state() {
      return state;
    },
    fetch: gatewayFetch,
    // Any answer will do while the state is unknown: shares whatever request is on its way.
    session: () => (state.status === 'unknown' ? refresh(0) : Promise.resolve(current())),
    refreshSession,
    on: (event, listener) => events.on(event, listener),
    login: login as GatehouseClient['login'],
    providers() {
      providersCache ??= call('GET', '/providers').then(
        (json) => toProviders(json as Partial<GatehouseProviders>),
        (error: unknown) => {
          providersCache = undefined;
          throw error;
        },
      );
      return providersCache;
    },
    async logout() {
      let json: Record<string, unknown>;
      try {
        json = await call('POST', '/logout');
      } catch (error) {
        // A 2xx means the session ended, even when its body is not the gateway's JSON. Any other
        // answer (`store_unavailable` during a store outage, with `retryAfter`) comes before the
        // gateway ends anything, and it keeps the cookie: the session is still live, so this
        // client stays signed in and the caller can retry. No answer (status 0) changes nothing either.
        if (error instanceof GatehouseClientError && error.status >= 200 && error.status < 300) signedOut('logout');
        throw error;
      }
      const redirect = endSessionUrl(json.redirect);
      signedOut('logout');
      if (redirect) navigate(redirect);
      return redirect ? { redirect } : {};
    },
    async sessions() {
      const json = await call('GET', '/sessions');
      return Array.isArray(json.sessions) ? (json.sessions.filter(isObject) as unknown as DeviceJson[]).map(toDevice) : [];
    },
    async revoke(id) {
      await call('DELETE', `/sessions/${encodeURIComponent(id)}`);
      if (state.status === 'signed-in' && state.session.id === id) signedOut('revoked');
    },
    async revokeOthers() {
      const json = await call('DELETE', '/sessions');
      return typeof json.revoked === 'number' ? json.revoked : 0;
    },
    async changePassword({ currentPassword, newPassword }) {
      const session = sessionFrom(await call('POST', '/password', { currentPassword, newPassword }));
      signedIn(session);
      return session;
    },
    close() {
      closed = true;
      timers.clear();
      events.clear();
      doc?.removeEventListener?.('visibilitychange', wake);
      for (const type of ['online', 'focus']) view.removeEventListener?.(type, wake);
    },
  };
  return client;
}
