// A page of the gateway's own origin, as far as the SDK can tell: `fetch` over the REAL gateway
// (Fastify inject, no socket), with what a browser adds by itself — the cookie jar, Origin on
// unsafe requests, Fetch Metadata — and nothing the SDK should add (no X-CSRF). Also the clock
// the gateway and the client share, so expiry tests move time instead of sleeping.
import type { GatehouseClock } from '../../src/index.js';
import { ORIGIN, type TestClock, type TestGateway } from '../../../gatehouse/test/helpers/gateway.js';

/** One request as the gateway received it. */
export interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  status: number;
  credentials: RequestCredentials | undefined;
}

/** A browser profile at {@link ORIGIN}: its cookie jar, its `fetch`, its top-level navigations. */
export interface TestBrowser {
  /** The page's origin ({@link ORIGIN}): pass it as the client's `origin` option (there is no `location` in Node). */
  origin: string;
  /** `fetch` as a same-origin page calls it (cookies sent by default, like a browser's 'same-origin'). */
  fetch: typeof fetch;
  /** A top-level navigation (Sec-Fetch-Mode: navigate), not following redirects. */
  navigate(url: string, site?: 'none' | 'same-origin' | 'cross-site'): Promise<{ status: number; location: string | undefined }>;
  /** Every request the gateway (or, with `crossOrigin`, another origin) received from this browser, in order. */
  sent: Sent[];
  /** The jar's cookies, name → value. */
  cookies: Map<string, string>;
}

/** One request to another origin, as that origin received it. */
export interface CrossOriginRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
}

/**
 * A browser at the gateway's origin. Origin is sent on every non-GET/HEAD request and
 * `Sec-Fetch-Site: same-origin` on every one, as Chromium does for a same-origin fetch.
 *
 * @param options.crossOrigin answers requests to any other origin (a CORS-enabled third-party
 *   API: no cookie of ours goes there, `Sec-Fetch-Site: cross-site`, Origin on every request).
 *   Without it such a request fails as a browser's does without CORS.
 */
export function testBrowser(gw: TestGateway, options: { crossOrigin?: (request: CrossOriginRequest) => Response } = {}): TestBrowser {
  const cookies = new Map<string, string>();
  const sent: Sent[] = [];

  const store = (setCookie: string | string[] | undefined) => {
    for (const header of [setCookie ?? []].flat()) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key = '', v = ''] = a.trim().split('=');
        if (key.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (key.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired) cookies.delete(name);
      else cookies.set(name, value);
    }
  };
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');

  const exchange = async (method: string, url: URL, headers: Record<string, string>, body: string | undefined, credentials?: RequestCredentials) => {
    if (url.origin !== ORIGIN) throw new TypeError(`Failed to fetch: ${url.origin} is another origin (no CORS here)`);
    if (credentials !== 'omit' && cookies.size > 0) headers.cookie = cookieHeader();
    const res = await gw.inject({ method: method as 'GET', url: `${url.pathname}${url.search}`, headers, ...(body === undefined ? {} : { payload: body }) });
    sent.push({ method, path: `${url.pathname}${url.search}`, headers, status: res.statusCode, credentials });
    store(res.headers['set-cookie']);
    return res;
  };

  const browserFetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input), `${ORIGIN}/`);
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init.headers ?? request?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    if (url.origin !== ORIGIN && options.crossOrigin) {
      Object.assign(headers, { origin: ORIGIN, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' });
      const credentials = init.credentials ?? request?.credentials;
      const res = options.crossOrigin({ method, url, headers });
      sent.push({ method, path: url.href, headers, status: res.status, credentials });
      return res;
    }
    headers['sec-fetch-site'] = 'same-origin';
    headers['sec-fetch-mode'] = 'cors';
    headers['sec-fetch-dest'] = 'empty';
    if (method !== 'GET' && method !== 'HEAD') headers.origin = ORIGIN;
    let body = typeof init.body === 'string' ? init.body : undefined;
    if (body === undefined && request && method !== 'GET' && method !== 'HEAD') body = await request.clone().text();
    const credentials = init.credentials ?? request?.credentials;
    let res = await exchange(method, url, headers, body === '' ? undefined : body, credentials);
    // Same-origin redirects are followed unless the caller asked for 'manual'.
    for (let hops = 0; init.redirect !== 'manual' && res.statusCode >= 300 && res.statusCode < 400 && hops < 5; hops++) {
      const next = new URL(String(res.headers.location), url);
      res = await exchange('GET', next, { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }, undefined, credentials);
    }
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined || name === 'set-cookie') continue;
      for (const v of [value].flat()) responseHeaders.append(name, String(v));
    }
    // The gateway's clock is the test clock: its Date header says so too, as a real server's would.
    responseHeaders.set('date', new Date(gw.clock()).toUTCString());
    const nullBody = res.statusCode === 204 || res.statusCode === 304 || method === 'HEAD';
    return new Response(nullBody ? null : new Uint8Array(res.rawPayload), { status: res.statusCode, headers: responseHeaders });
  }) as typeof fetch;

  return {
    origin: ORIGIN,
    fetch: browserFetch,
    sent,
    cookies,
    async navigate(target, site = 'none') {
      const headers = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': site, 'sec-fetch-dest': 'document' };
      const res = await exchange('GET', new URL(target, `${ORIGIN}/`), headers, undefined);
      const location = res.headers.location;
      return { status: res.statusCode, location: location === undefined ? undefined : String(location) };
    },
  };
}

/** Timers on a clock that the gateway shares (its {@link TestClock}), moved by {@link FakeClock.advance}. */
export interface FakeClock extends GatehouseClock {
  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void;
  /**
   * The machine sleeps for `ms`: time moves, timers do not run, and their delays do not count
   * the time asleep (browsers time `setTimeout` with a clock that stops during sleep), so each
   * pending timer now falls due `ms` later than it would have.
   */
  sleep(ms: number): void;
  /** Timers not yet run. */
  pending(): number;
}

/** More timer runs than this in one {@link FakeClock.advance} is a timer re-arming itself forever. */
const MAX_RUNS = 10_000;

/**
 * @param gatewayClock the gateway's clock, moved along with this one
 * @param offsetMs how far the browser's clock is ahead of the gateway's (a wrong clock on the user's machine)
 */
export function fakeClock(gatewayClock: TestClock, offsetMs = 0): FakeClock {
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const now = () => gatewayClock() + offsetMs;
  return {
    now,
    setTimeout(callback, ms) {
      const id = nextId++;
      // As a browser does: the delay is a WebIDL `long` (ToInt32, so anything past 2^31 - 1 ms
      // wraps, 30 days to a negative number), and a negative delay is 0: it fires at once.
      timers.set(id, { at: now() + Math.max(0, Math.trunc(ms) | 0), callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    pending: () => timers.size,
    advance(ms) {
      const end = now() + ms;
      for (let runs = 0; ; runs++) {
        const due = [...timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
        if (!due) break;
        if (runs === MAX_RUNS) throw new Error(`${MAX_RUNS} timers ran without time moving past ${new Date(due[1].at).toISOString()}: a timer re-arms itself`);
        const [id, timer] = due;
        timers.delete(id);
        if (timer.at > now()) gatewayClock.advance(timer.at - now());
        timer.callback();
      }
      if (end > now()) gatewayClock.advance(end - now());
    },
    sleep(ms) {
      gatewayClock.advance(ms);
      for (const timer of timers.values()) timer.at += ms;
    },
  };
}

/**
 * A page's `document` and `window` events, installed on `globalThis` (Node has neither): what
 * the client listens to in order to notice that the machine woke up. Call `restore()` after.
 */
export interface FakePage {
  /** The tab becomes visible again: `visibilitychange` with `visibilityState` "visible". */
  show(): void;
  /** The tab is hidden (`visibilitychange`, "hidden"). */
  hide(): void;
  /** A window event: `online`, `focus`. */
  dispatch(type: 'online' | 'focus'): void;
  /** How many listeners the client has on `document` and `window` together. */
  listeners(): number;
  restore(): void;
}

export function fakePage(): FakePage {
  const document = new EventTarget() as EventTarget & { visibilityState: DocumentVisibilityState };
  document.visibilityState = 'visible';
  const window = new EventTarget();
  let count = 0;
  const counted = (target: EventTarget) => {
    const add = target.addEventListener.bind(target);
    const remove = target.removeEventListener.bind(target);
    return {
      addEventListener: (...args: Parameters<EventTarget['addEventListener']>) => {
        count++;
        add(...args);
      },
      removeEventListener: (...args: Parameters<EventTarget['removeEventListener']>) => {
        count--;
        remove(...args);
      },
    };
  };
  Object.assign(document, counted(document));
  const g = globalThis as Record<string, unknown>;
  const saved = ['document', 'addEventListener', 'removeEventListener'].map((name) => [name, Object.getOwnPropertyDescriptor(g, name)] as const);
  Object.defineProperty(g, 'document', { value: document, configurable: true, writable: true });
  for (const [name, fn] of Object.entries(counted(window))) Object.defineProperty(g, name, { value: fn, configurable: true, writable: true });
  const visibility = (state: DocumentVisibilityState) => {
    document.visibilityState = state;
    document.dispatchEvent(new Event('visibilitychange'));
  };
  return {
    show: () => visibility('visible'),
    hide: () => visibility('hidden'),
    dispatch: (type) => window.dispatchEvent(new Event(type)),
    listeners: () => count,
    restore() {
      for (const [name, descriptor] of saved) {
        if (descriptor) Object.defineProperty(g, name, descriptor);
        else Reflect.deleteProperty(g, name);
      }
    },
  };
}

/** Resolves with the next payload of a client event (the test fails by timeout if it never comes). */
export function next<T>(subscribe: (listener: (payload: T) => void) => () => void): Promise<T> {
  return new Promise((resolve) => {
    const off = subscribe((payload) => {
      off();
      resolve(payload);
    });
  });
}
