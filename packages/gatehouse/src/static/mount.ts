import type { FastifyInstance } from 'fastify';
import type { GatehouseConfig } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import { type AccessGuard, registerStaticMount } from './protected.js';
import { registerSpa } from './spa.js';

/**
 * The configured static folders (each behind the session guard when protected), then the SPA:
 * its files, and its index for any other GET outside `reservedPrefixes` (client-side routes).
 * Without an SPA, an unknown path is a 404 `not_found`.
 */
export async function registerStaticContent(
  app: FastifyInstance,
  config: Pick<GatehouseConfig, 'static' | 'spa'>,
  guard: AccessGuard,
  reservedPrefixes: readonly string[],
): Promise<void> {
  for (const mount of config.static) {
    await registerStaticMount(app, mount, guard);
  }
  const spaFallback =
    config.spa?.root !== undefined
      ? await registerSpa(app, { root: config.spa.root, index: config.spa.index, symlinks: config.spa.symlinks, reservedPrefixes })
      : undefined;
  app.setNotFoundHandler(
    spaFallback ??
      (async () => {
        throw new GatehouseError('not_found');
      }),
  );
}

/** Paths the SPA fallback never answers: Gatehouse's own routes, `/api`, static mounts, proxied APIs. */
export function spaReservedPrefixes(config: Pick<GatehouseConfig, 'auth' | 'static' | 'apis'>): string[] {
  return [config.auth.prefix, '/api', ...config.static.map((s) => s.path), ...config.apis.map((api) => api.path)];
}
