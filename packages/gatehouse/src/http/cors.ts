import type { FastifyInstance } from 'fastify';
import type { GatehouseConfig } from '../config/schema.js';

/**
 * CORS for development only. In production Gatehouse serves the SPA and its API from one origin,
 * so no `Access-Control-*` header is ever sent (config validation refuses an allowlist outside
 * development, and `*` or origin reflection always). The allowlist is exact-match: no patterns.
 */
export function registerDevCors(app: FastifyInstance, allowOrigins: readonly string[], allowCredentials: boolean): void {
  if (allowOrigins.length === 0) return;
  const allowed = new Set(allowOrigins);
  app.addHook('onRequest', async (request, reply) => {
    // Answers differ by Origin whenever CORS is on: caches must key on it.
    reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return;
    reply.header('access-control-allow-origin', origin);
    if (allowCredentials) reply.header('access-control-allow-credentials', 'true');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      reply.header('access-control-allow-methods', 'GET, HEAD, POST, PUT, PATCH, DELETE');
      reply.header('access-control-allow-headers', 'content-type, x-csrf, x-csrf-token');
      reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    }
  });
}

/**
 * The development CORS allowlist, also trusted as same-site by the CSRF and cross-site checks.
 * Validation refuses an allowlist outside development; this keeps it inert there regardless.
 */
export function devCorsOrigins(config: GatehouseConfig): ReadonlySet<string> {
  return new Set(config.mode === 'development' && Array.isArray(config.cors.allowOrigins) ? config.cors.allowOrigins : []);
}
