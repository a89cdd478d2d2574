import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Metrics, RouteClass } from './metrics.js';

/**
 * Records every response of `app` in `gatehouse_http_requests_total` and the request duration
 * histogram. Register it before the routes, so that it sees all of them (the 404 handler too).
 */
export function observeRequests(app: FastifyInstance, metrics: Metrics, classify: (path: string) => RouteClass): void {
  if (!metrics.enabled) return;
  // Route patterns are finite (fixed at start-up), so this cache is bounded; raw paths never go in it.
  const byPattern = new Map<string, RouteClass>();
  app.addHook('onResponse', (request, reply, done) => {
    const pattern = request.routeOptions.url;
    let routeClass: RouteClass | undefined;
    if (pattern === undefined) {
      // Unmatched (SPA fallback, 404): the raw path, without the query.
      const url = request.url;
      const query = url.indexOf('?');
      routeClass = classify(query === -1 ? url : url.slice(0, query));
    } else {
      routeClass = byPattern.get(pattern);
      if (routeClass === undefined) {
        routeClass = classify(pattern);
        byPattern.set(pattern, routeClass);
      }
    }
    metrics.request(routeClass, request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

/**
 * `GET /metrics`: the Prometheus text exposition. No session is needed (Prometheus has none), so
 * on the public listener it must be restricted in front of the gateway; the separate admin
 * listener (`metrics.port`) is the safer choice.
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.render();
    // Every scrape must see current values, never a cached copy.
    return reply.header('cache-control', 'no-store').type(metrics.contentType).send(text);
  });
}

/**
 * The admin listener of `metrics.port`: plain HTTP, `/metrics` and `/healthz`, nothing else (no
 * session, no cookies, no SPA). Not listening yet: `startGatehouse` starts it next to the gateway
 * and the gateway's `close()` stops it.
 */
export function createMetricsListener(metrics: Metrics, logger: FastifyBaseLogger): FastifyInstance {
  const admin = Fastify({
    loggerInstance: logger.child({ listener: 'metrics' }),
    // A scrape every few seconds would otherwise fill the log with request lines.
    disableRequestLogging: true,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  admin.addHook('onRequest', (_request, reply, done) => {
    reply.header('x-content-type-options', 'nosniff');
    done();
  });
  registerMetricsRoute(admin, metrics);
  admin.get('/healthz', async () => ({ ok: true }));
  return admin;
}
