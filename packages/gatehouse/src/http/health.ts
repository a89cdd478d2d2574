import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../errors.js';
import { sendError } from './errors.js';

/**
 * `/healthz` (the process answers) and `/readyz` (the session store answers too: a gateway that
 * cannot read sessions is not ready, 503 `store_unavailable`).
 */
export function registerHealthRoutes(app: FastifyInstance, store: { ping(): Promise<void> }): void {
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await store.ping();
      return { ready: true };
    } catch (error) {
      return sendError(reply, error instanceof GatehouseError ? error : new GatehouseError('store_unavailable', { cause: error }));
    }
  });
}
