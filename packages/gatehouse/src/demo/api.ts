import type { FastifyInstance } from 'fastify';
import type { GatehouseContext } from '../server.js';

/**
 * The demo's API route, inside the gateway until the proxy issue moves it to its own upstream.
 * It shows what an API sees: the user from the session, never a token.
 */
export function registerDemoApi(app: FastifyInstance, { guard }: GatehouseContext): void {
  app.get('/api/demo/hello', async (request, reply) => {
    const session = await guard(request, reply);
    if (!session) return reply;
    return {
      message: `Hello, ${session.user.name ?? session.user.username ?? session.user.id}!`,
      user: session.user,
      servedAt: new Date().toISOString(),
    };
  });
}
