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
    /**
     * The session changed during this request (a token refresh moved the access token's expiry):
     * in cookie mode the response carries the re-sealed cookie. A no-op in server mode, where the
     * store already holds the change.
     */
    sessionChanged(record: SessionRecord): Promise<void>;
  }
}

export interface SessionPluginOptions {
  sessions: SessionManager;
  cookie: SessionCookie;
}

const cache = new WeakMap<FastifyRequest, Promise<SessionRecord | null>>();
/** Cookie mode: the new cookie value a request's response must carry (slid, re-checked, re-keyed, refreshed). */
const reissues = new WeakMap<FastifyRequest, string>();

/** Wires the framework-free session core to Fastify requests. */
export const sessionPlugin = fp<SessionPluginOptions>(
  async (app: FastifyInstance, { sessions, cookie }) => {
    app.decorateRequest('getSession', function getSession(this: FastifyRequest) {
      let pending = cache.get(this);
      if (!pending) {
        pending = sessions.resolveCookie(cookie.readFrom(requestCookies(this))).then((resolved) => {
          if (resolved?.reissue !== undefined) reissues.set(this, resolved.reissue);
          return resolved?.record ?? null;
        });
        cache.set(this, pending);
      }
      return pending;
    });
    app.decorateRequest('hasSessionCookie', function hasSessionCookie(this: FastifyRequest) {
      const cookies = requestCookies(this);
      // Cookie mode: a base cookie whose chunks are missing or foreign is a cookie to clear.
      return sessions.mode === 'cookie' ? cookie.sentBy(cookies) : cookie.readFrom(cookies) !== undefined;
    });
    app.decorateRequest('sessionChanged', async function sessionChanged(this: FastifyRequest, record: SessionRecord) {
      const value = await sessions.sealed(record);
      if (value !== undefined) reissues.set(this, value);
    });
    if (sessions.mode === 'cookie') {
      app.addHook('onSend', async (request, reply, payload) => {
        const value = reissues.get(request);
        if (value === undefined) return payload;
        // A route that wrote the session cookie itself (sign-in, sign-out, revoke) has the last word.
        if (!writesSessionCookie(reply.getHeader('set-cookie'), cookie.name)) {
          const session = await request.getSession();
          const maxAge = session && cookie.persistent ? sessions.remainingSeconds(session) : undefined;
          reply.header('set-cookie', cookie.write(value, maxAge, requestCookies(request)));
        }
        return payload;
      });
    }
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
  if (request.hasSessionCookie()) reply.header('set-cookie', cookie.clearAll(requestCookies(request)));
  throw new GatehouseError('unauthenticated');
}

function writesSessionCookie(header: ReturnType<FastifyReply['getHeader']>, name: string): boolean {
  const values = Array.isArray(header) ? header : header === undefined ? [] : [String(header)];
  return values.some((v) => String(v).startsWith(`${name}=`));
}
