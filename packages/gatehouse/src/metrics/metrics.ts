/**
 * What the gateway records, as one small interface. Call sites call it unconditionally: when
 * metrics are disabled they get {@link noopMetrics}, whose methods do nothing, so the disabled
 * cost is one empty call.
 *
 * Every label value that reaches a method is bounded (a route class, a configured API path, a
 * configured provider id, a status code): never a raw URL, a user id or a session id.
 */

/** Coarse kind of a request, derived from the configured prefixes (see `route-class.ts`). */
export type RouteClass = 'auth' | 'api' | 'static' | 'spa' | 'wellknown' | 'health' | 'metrics' | 'other';

/** How a sign-in attempt ended. */
export type LoginOutcome = 'ok' | 'failed' | 'throttled';

/**
 * Why sessions ended, as far as this instance saw it. Expiry is not counted: stores drop expired
 * sessions silently (a TTL in Redis, a sweep in memory), so `gatehouse_active_sessions` is the
 * view that includes it.
 */
export type SessionEndReason = 'logout' | 'revoked' | 'password_changed' | 'backchannel' | 'refresh_refused';

/** The {@link SessionStore} methods the store decorator times. */
export type StoreOperation = 'get' | 'set' | 'touch' | 'delete' | 'deleteByUser' | 'listByUser' | 'ping' | 'countLive';

/** The outcomes of `TokenRefresher`'s `onRefresh`. */
export type RefreshOutcome = 'refreshed' | 'ended' | 'failed';

/** What an upstream answered: its status code, or no answer at all. */
export type UpstreamResult = number | 'error' | 'timeout';

/** The one recorder the gateway's call sites use; see {@link noopMetrics} and `createPrometheusMetrics`. */
export interface Metrics {
  /** False for {@link noopMetrics}: lets wiring skip optional work (e.g. the store decorator). */
  readonly enabled: boolean;
  /** One finished HTTP request; `seconds` from its arrival to the end of the response. */
  request(routeClass: RouteClass, method: string, status: number, seconds: number): void;
  /** One sign-in attempt; `method` is `local` or a configured provider id. */
  login(method: string, outcome: LoginOutcome): void;
  /** One request refused as cross-site (`reason`: a `CsrfFailure`, or `cross_site_resource`). */
  csrfRefusal(reason: string): void;
  sessionsCreated(count: number): void;
  sessionsEnded(reason: SessionEndReason, count: number): void;
  /** One session store call and how long it took. */
  storeOperation(operation: StoreOperation, ok: boolean, seconds: number): void;
  /** One proxied call: the configured `apis[].path`, what the upstream answered, time to its response headers. */
  upstream(api: string, result: UpstreamResult, seconds: number): void;
  tokenRefresh(outcome: RefreshOutcome): void;
  /** The Prometheus text exposition of everything recorded (and of the process). */
  render(): Promise<string>;
  /** The Content-Type of {@link render}'s text. */
  readonly contentType: string;
}

const nothing = (): void => {};

/** Metrics switched off: every method is a no-op and nothing is exposed. */
export const noopMetrics: Metrics = Object.freeze({
  enabled: false,
  request: nothing,
  login: nothing,
  csrfRefusal: nothing,
  sessionsCreated: nothing,
  sessionsEnded: nothing,
  storeOperation: nothing,
  upstream: nothing,
  tokenRefresh: nothing,
  render: async () => '',
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
});
