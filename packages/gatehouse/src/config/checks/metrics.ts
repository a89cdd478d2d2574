import type { ConfigProblem } from '../../errors.js';
import type { PartialConfig } from './types.js';

/** The admin listener is plain HTTP and unauthenticated: it must be a port of its own. */
export function checkMetrics(config: PartialConfig): ConfigProblem[] {
  const metrics = config.metrics;
  // On the public origin, anyone could read sign-in failure rates, session counts and versions,
  // and make each scrape count sessions in the store: in production that takes an explicit choice.
  if (metrics?.enabled && metrics.port === undefined && !metrics.public && (config.mode ?? 'production') === 'production') {
    return [
      {
        key: 'metrics.port',
        message:
          'required in production: set a separate admin port (e.g. 9464) reachable by Prometheus only, or set "metrics.public": true to serve /metrics on the public origin and restrict it at your load balancer.',
      },
    ];
  }
  const port = metrics?.port;
  if (port === undefined || port === 0 || port !== config.listen?.port) return [];
  return [
    {
      key: 'metrics.port',
      message: `is the gateway's own port (listen.port ${port}): choose another port for the metrics listener, or leave metrics.port out to serve /metrics on the gateway.`,
    },
  ];
}
