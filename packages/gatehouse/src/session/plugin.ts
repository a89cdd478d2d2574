import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { requestCookies } from '../cookies/request-cookies.js';
import type { SessionCookie } from '../cookies/session-cookie.js';
import { GatehouseError } from '../errors.js';
import type { SessionRecord } from './model.js';
import type { SessionManager } from './manager.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The caller's live session, or null. Resolved lazily and once per request: static assets
     * and the SPA never pay for a store lookup. Rejects with `store_unavailable` when the store
     * is down, so a store outage is a 503 and never an anonymous request.
     */
    getSession(): Promise<SessionRecord | null>;
    /** True when the request carried a session cookie at all (valid or not). */
    hasSessionCookie(): boolean;
  }
}

export interface SessionPluginOptions {
  sessions: SessionManager;
  cookie: SessionCookie;
}

const cache = new WeakMap<FastifyRequest, Promise<SessionRecord | null>>();

/** Wires the framework-free session core to Fastify requests. */
export const sessionPlugin = fp<SessionPluginOptions>(
  async (app: FastifyInstance, { sessions, cookie }) => {
    app.decorateRequest('getSession', function getSession(this: FastifyRequest) {
      let pending = cache.get(this);
      if (!pending) {
        pending = sessions.resolve(cookie.readFrom(requestCookies(this)));
        cache.set(this, pending);
      }
      return pending;
    });
    app.decorateRequest('hasSessionCookie', function hasSessionCookie(this: FastifyRequest) {
      return cookie.readFrom(requestCookies(this)) !== undefined;
    });
  },
  { name: 'gatehouse-session', fastify: '5.x' },
);

/**
 * The session, or a 401 `unauthenticated`. A cookie that no longer names a live session is
 * expired in the same response, so the browser stops sending it.
 */
export async function requireSession(
  request: FastifyRequest,
  reply: FastifyReply,
  cookie: SessionCookie,
): Promise<SessionRecord> {
  const session = await request.getSession();
  if (session) return session;
  if (request.hasSessionCookie()) reply.header('set-cookie', cookie.clear());
  throw new GatehouseError('unauthenticated');
}
