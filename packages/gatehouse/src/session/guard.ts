import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionCookie } from '../cookies/session-cookie.js';
import { isCrossSiteSubresource } from '../csrf/check.js';
import { GatehouseError } from '../errors.js';
import type { Audit } from '../http/audit.js';
import { headerValue, isNavigation, loginRedirect } from '../http/request.js';
import type { SessionRecord, SessionUser } from './model.js';
import type { SessionManager } from './manager.js';
import { requireSession } from './plugin.js';

/**
 * The one role check: a resource that names roles is open to a user holding at least one of them;
 * one that names none, to every signed-in user.
 */
export function hasRole(user: SessionUser, roles: readonly string[] | undefined): boolean {
  return !roles || roles.length === 0 || roles.some((role) => user.roles.includes(role));
}

/**
 * A cookie-authenticated read that another site embeds or fetches (`<img>`, `<script>`, a
 * cross-site `fetch`), by its Fetch Metadata. Cookie-only GETs stay possible, but never for
 * another site.
 * @see https://www.w3.org/TR/fetch-metadata/ (resource isolation policy)
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html#fetch-metadata-headers
 */
export function isCrossSiteRead(headers: IncomingHttpHeaders, trustedOrigins: ReadonlySet<string>): boolean {
  return isCrossSiteSubresource(
    {
      secFetchSite: headerValue(headers['sec-fetch-site']),
      secFetchMode: headerValue(headers['sec-fetch-mode']),
      origin: headerValue(headers.origin),
    },
    trustedOrigins,
  );
}

/** Where a request stands, given its (already resolved) session. */
export type Access =
  | { outcome: 'allowed'; session: SessionRecord }
  /** A navigation without a session: sent to the login page, which brings it back (`returnTo`). */
  | { outcome: 'login'; location: string }
  | { outcome: 'refused'; code: 'unauthenticated' | 'forbidden' };

/** Where the login page is, for {@link decideAccess}. */
export interface LoginPage {
  loginPage: string;
  publicOrigin: string;
}

/**
 * The guard's decision, from plain inputs. Only a top-level navigation is ever redirected to the
 * login page; an API-style request gets 401 (a 302 inside `fetch` ends as an opaque CORS error).
 */
export function decideAccess(
  request: { method: string; url: string; headers: IncomingHttpHeaders },
  session: SessionRecord | null,
  roles: readonly string[] | undefined,
  login: LoginPage,
): Access {
  if (!session) {
    return isNavigation(request)
      ? { outcome: 'login', location: loginRedirect(request.url, login.loginPage, login.publicOrigin) }
      : { outcome: 'refused', code: 'unauthenticated' };
  }
  return hasRole(session.user, roles) ? { outcome: 'allowed', session } : { outcome: 'refused', code: 'forbidden' };
}

export interface SessionGuardOptions extends LoginPage {
  sessions: SessionManager;
  cookie: SessionCookie;
  /** Origins treated as same-site by the cross-site check (the development CORS allowlist). */
  trustedOrigins: ReadonlySet<string>;
  audit: Audit;
}

/**
 * The session checks as routes, static mounts and the proxy use them: the Fastify adapter over
 * {@link isCrossSiteRead} and {@link decideAccess}.
 */
export interface SessionGuard {
  /**
   * The session, or the refusal: throws 401 (API), 403 (cross-site, missing role); for a
   * navigation without a session, sends a redirect to the login page and resolves null — the
   * caller must then `return reply`.
   */
  guard(request: FastifyRequest, reply: FastifyReply, roles?: readonly string[]): Promise<SessionRecord | null>;
  /** The refusal of a cross-site sub-resource read (audited as `cross_site_rejected`), or undefined. */
  crossSiteRefusal(request: FastifyRequest): GatehouseError | undefined;
  /** The live session a Cookie header names, or null (for raw requests: WebSocket upgrades). */
  resolveSession(cookieHeader: string | undefined): Promise<SessionRecord | null>;
}

export function createSessionGuard(options: SessionGuardOptions): SessionGuard {
  const { sessions, cookie, trustedOrigins, audit } = options;
  const crossSiteRefusal = (request: FastifyRequest): GatehouseError | undefined => {
    if (!isCrossSiteRead(request.headers, trustedOrigins)) return undefined;
    audit('cross_site_rejected', request);
    return new GatehouseError('cross_site_rejected');
  };
  return {
    crossSiteRefusal,
    async guard(request, reply, roles) {
      const refusal = crossSiteRefusal(request);
      if (refusal) throw refusal;
      const access = decideAccess(request, await request.getSession(), roles, options);
      switch (access.outcome) {
        case 'allowed':
          return access.session;
        case 'login':
          await reply.redirect(access.location, 302);
          return null;
        case 'refused':
          // The 401 also expires a cookie that no longer names a live session.
          if (access.code === 'unauthenticated') return requireSession(request, reply, cookie);
          throw new GatehouseError(access.code);
      }
    },
    resolveSession: (cookieHeader) => sessions.resolve(cookie.read(cookieHeader)),
  };
}
