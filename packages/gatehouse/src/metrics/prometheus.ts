import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CsrfFailure } from '../csrf/check.js';
import type {
  LoginOutcome,
  Metrics,
  RefreshOutcome,
  RouteClass,
  SessionEndReason,
  StoreOperation,
  UpstreamResult,
} from './metrics.js';
import { processMetricsText } from './process.js';

/** Options of {@link createPrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** `local` (when enabled) and the configured provider ids; any other login method is recorded as `other`. */
  loginMethods: Iterable<string>;
  /** The configured `apis[].path`s; any other value is recorded as `other`. */
  apiPaths: Iterable<string>;
  /**
   * Counts the live sessions, when the store can do so cheaply (`SessionStore.countLive`). Called
   * at scrape time only; without it `gatehouse_active_sessions` is not exposed at all (an absent
   * series says "unknown", a made-up one would mislead).
   */
  countLive?: (() => Promise<number>) | undefined;
  /** Also expose the process's CPU, memory, event-loop and GC metrics (prom-client's defaults). Default true. */
  processMetrics?: boolean;
}

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const LOGIN_OUTCOMES: readonly LoginOutcome[] = ['ok', 'failed', 'throttled'];
const CSRF_REASONS: readonly (CsrfFailure | 'cross_site_resource')[] = [
  'cross_site_fetch',
  'origin_mismatch',
  'missing_header',
  'bad_token',
  'cross_site_resource',
];
const END_REASONS: readonly SessionEndReason[] = ['logout', 'revoked', 'password_changed', 'backchannel', 'refresh_refused'];
const STORE_OPERATIONS: readonly StoreOperation[] = ['get', 'set', 'touch', 'delete', 'deleteByUser', 'listByUser', 'ping', 'countLive'];
const REFRESH_OUTCOMES: readonly RefreshOutcome[] = ['refreshed', 'ended', 'failed'];
const OTHER = 'other';

// Buckets in seconds. Requests and upstreams: prom-client's defaults plus a 30 s tail (the upstream
// timeout range). Store calls: sub-millisecond (memory, SQLite cache) up to a slow network store.
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * Metrics in a Prometheus registry of their own (never prom-client's global one: a process may
 * run several gateways, as the tests do, and each must count only its own requests).
 *
 * Label values are checked against what the config allows before they become a series, so a
 * client can never create series: cardinality is fixed by the config.
 */
export function createPrometheusMetrics(options: PrometheusMetricsOptions): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const loginMethods: ReadonlySet<string> = new Set(options.loginMethods);
  const apiPaths: ReadonlySet<string> = new Set(options.apiPaths);

  const requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests answered, by route class, method and status code.',
    labelNames: ['route_class', 'method', 'status'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'Time from the arrival of a request to the end of its response, by route class and status class.',
    labelNames: ['route_class', 'status_class'] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const logins = new Counter({
    name: 'gatehouse_logins_total',
    help: 'Sign-in attempts, by method (local or the provider id) and outcome.',
    labelNames: ['method', 'outcome'] as const,
    registers,
  });
  const csrf = new Counter({
    name: 'gatehouse_csrf_refusals_total',
    help: 'Requests refused as cross-site (CSRF and cross-site resource loads), by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const created = new Counter({
    name: 'gatehouse_sessions_created_total',
    help: 'Sessions this instance created (sign-ins, and the fresh session after a password change).',
    registers,
  });
  const ended = new Counter({
    name: 'gatehouse_sessions_ended_total',
    help: 'Sessions this instance ended, by reason. Expiry is not counted: see gatehouse_active_sessions.',
    labelNames: ['reason'] as const,
    registers,
  });
  const store = new Histogram({
    name: 'gatehouse_store_operation_duration_seconds',
    help: 'Session store calls, by operation and outcome (ok or error).',
    labelNames: ['operation', 'outcome'] as const,
    buckets: STORE_BUCKETS,
    registers,
  });
  const upstream = new Histogram({
    name: 'gatehouse_upstream_duration_seconds',
    help: 'Time until an upstream API answered (its response headers), by configured route and status class.',
    labelNames: ['api', 'status_class'] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const refreshes = new Counter({
    name: 'gatehouse_token_refreshes_total',
    help: 'Access token refreshes of federated sessions, by outcome.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const { countLive } = options;
  if (countLive) {
    new Gauge({
      name: 'gatehouse_active_sessions',
      help: 'Live sessions in the session store (all instances sharing it), counted at scrape time.',
      registers,
      async collect() {
        try {
          this.set(await countLive());
        } catch {
          // A store that cannot answer now: NaN says "unknown" instead of repeating a stale count.
          // The failure itself shows in gatehouse_store_operation_duration_seconds{outcome="error"}.
          this.set(Number.NaN);
        }
      },
    });
  }

  // Known series start at 0, so rate() and alerts see the first event rather than a new series.
  for (const method of loginMethods) for (const outcome of LOGIN_OUTCOMES) logins.labels(method, outcome).inc(0);
  for (const reason of CSRF_REASONS) csrf.labels(reason).inc(0);
  for (const reason of END_REASONS) ended.labels(reason).inc(0);
  for (const outcome of REFRESH_OUTCOMES) refreshes.labels(outcome).inc(0);

  // Children are created once per label combination: the per-request path then does a map lookup
  // instead of building and validating a label object.
  const requestChildren = new Map<string, { count: Counter.Internal; duration: Histogram.Internal<string> }>();
  const storeChildren = new Map<StoreOperation, [ok: Histogram.Internal<string>, error: Histogram.Internal<string>]>(
    STORE_OPERATIONS.map((operation) => [operation, [store.labels(operation, 'ok'), store.labels(operation, 'error')]]),
  );

  return {
    enabled: true,
    contentType: registry.contentType,

    request(routeClass: RouteClass, method: string, status: number, seconds: number) {
      const m = METHODS.has(method) ? method : 'OTHER';
      const key = `${routeClass} ${m} ${status}`;
      let children = requestChildren.get(key);
      if (!children) {
        const code = Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : OTHER;
        children = { count: requests.labels(routeClass, m, code), duration: requestDuration.labels(routeClass, statusClass(status)) };
        requestChildren.set(key, children);
      }
      children.count.inc();
      children.duration.observe(seconds);
    },

    login(method, outcome) {
      logins.labels(loginMethods.has(method) ? method : OTHER, outcome).inc();
    },

    csrfRefusal(reason) {
      csrf.labels((CSRF_REASONS as readonly string[]).includes(reason) ? reason : OTHER).inc();
    },

    sessionsCreated(count) {
      if (count > 0) created.inc(count);
    },

    sessionsEnded(reason, count) {
      if (count > 0) ended.labels(reason).inc(count);
    },

    storeOperation(operation, ok, seconds) {
      storeChildren.get(operation)?.[ok ? 0 : 1].observe(seconds);
    },

    upstream(api, result, seconds) {
      upstream.labels(apiPaths.has(api) ? api : OTHER, typeof result === 'number' ? statusClass(result) : result).observe(seconds);
    },

    tokenRefresh(outcome) {
      refreshes.labels(outcome).inc();
    },

    async render() {
      const own = await registry.metrics();
      return options.processMetrics === false ? own : `${await processMetricsText()}\n${own}`;
    },
  };
}

/** `2xx` … `5xx`; anything outside 100–599 is `other`. */
function statusClass(status: number): string {
  return status >= 100 && status <= 599 ? `${Math.floor(status / 100)}xx` : OTHER;
}
