import type { FastifyInstance } from 'fastify';
import type { GatehouseConfig } from '../config/schema.js';
import type { SessionStore } from '../session/model.js';
import { createMetricsListener, observeRequests, registerMetricsRoute } from './http.js';
import { type Metrics, noopMetrics } from './metrics.js';
import { createPrometheusMetrics } from './prometheus.js';
import { routeClassifier } from './route-class.js';
import { instrumentStore } from './store.js';

export type { Metrics, RouteClass } from './metrics.js';
export { noopMetrics } from './metrics.js';
export { auditMetrics } from './security-events.js';

/** The gateway's metrics, and its session store as the gateway should use it (timed when enabled). */
export interface GatewayMetrics {
  metrics: Metrics;
  store: SessionStore;
}

/**
 * The metrics the config asks for (`metrics.enabled`), over this gateway's session store: the
 * store comes back wrapped so its calls are timed, and its `countLive` (when it has one) feeds
 * `gatehouse_active_sessions` at scrape time.
 */
export function createGatewayMetrics(config: GatehouseConfig, store: SessionStore): GatewayMetrics {
  if (!config.metrics.enabled) return { metrics: noopMetrics, store };
  let timed: SessionStore = store;
  const metrics = createPrometheusMetrics({
    loginMethods: [...(config.local.enabled ? ['local'] : []), ...config.providers.map((p) => p.id)],
    apiPaths: config.apis.map((api) => api.path),
    // Late-bound: the timed store needs the metrics first. Counting is then timed like any call.
    countLive: store.countLive ? () => (timed.countLive as () => Promise<number>)() : undefined,
  });
  timed = instrumentStore(store, metrics);
  return { metrics, store: timed };
}

/**
 * The HTTP side: counts every response of `app`, and serves `/metrics` on it when no admin
 * port is configured. Returns the admin listener (not yet listening) when one is.
 */
export function registerMetrics(app: FastifyInstance, config: GatehouseConfig, metrics: Metrics): FastifyInstance | null {
  if (!metrics.enabled) return null;
  const onAdminPort = config.metrics.port !== undefined;
  observeRequests(
    app,
    metrics,
    routeClassifier({
      authPrefix: config.auth.prefix,
      apiPaths: config.apis.map((api) => api.path),
      staticPaths: config.static.map((mount) => mount.path),
      spa: config.spa !== undefined,
      metricsRoute: !onAdminPort,
    }),
  );
  if (!onAdminPort) {
    registerMetricsRoute(app, metrics);
    return null;
  }
  return createMetricsListener(metrics, app.log);
}
