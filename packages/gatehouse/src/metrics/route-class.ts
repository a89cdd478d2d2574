import { isUnderPrefix as under } from '../util/path-prefix.js';
import type { RouteClass } from './metrics.js';

/** What {@link routeClassifier} needs from the config. */
export interface RouteClassConfig {
  /** `auth.prefix`, e.g. `/auth`. */
  authPrefix: string;
  /** `apis[].path`. */
  apiPaths: readonly string[];
  /** `static[].path`. */
  staticPaths: readonly string[];
  /** Whether an SPA answers the paths nothing else takes. */
  spa: boolean;
  /** Whether `/metrics` is served by this app (metrics enabled without an admin port). */
  metricsRoute: boolean;
}

/**
 * Sorts a request path into a {@link RouteClass} by the configured prefixes. The result is a
 * label value, so it must come from a small fixed set whatever the client sends.
 *
 * Callers pass the route pattern Fastify matched when there is one (`/api/orders/*`), which is
 * already decoded and normalised; for unmatched requests, the raw path.
 */
export function routeClassifier(config: RouteClassConfig): (path: string) => RouteClass {
  const fallback: RouteClass = config.spa ? 'spa' : 'other';
  return (path) => {
    if (under(path, config.authPrefix)) return 'auth';
    for (const prefix of config.apiPaths) if (under(path, prefix)) return 'api';
    for (const prefix of config.staticPaths) if (under(path, prefix)) return 'static';
    if (under(path, '/.well-known')) return 'wellknown';
    if (path === '/healthz' || path === '/readyz') return 'health';
    if (config.metricsRoute && path === '/metrics') return 'metrics';
    return fallback;
  };
}
