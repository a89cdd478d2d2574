import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import { headerValue } from '../http/request.js';
import type { KeyRing } from '../keys/keyring.js';
import { type CsrfFailure, checkRequestOrigin, hasCsrfHeader, UNSAFE_METHODS } from './check.js';
import { verifyAntiForgeryToken } from './token.js';

export interface CsrfOptions {
  publicOrigin: string;
  keys: KeyRing;
  /** Development only: the CORS allowlist, whose origins may send unsafe requests with the header. */
  trustedOrigins?: ReadonlySet<string>;
  /**
   * Route patterns (as registered, e.g. "/auth/backchannel-logout/:provider") that a server, not a
   * browser, calls, and that authenticate by their own means, never by the cookie.
   */
  exemptRoutes?: ReadonlySet<string>;
  /** Called on every refusal (audit log, metrics). */
  onReject?: (request: FastifyRequest, reason: CsrfFailure) => void;
}

/** Name of the form field that carries the anti-forgery token in a plain HTML form. */
export const FORM_TOKEN_FIELD = '_csrf';
/** Header alternative to the form field. */
export const TOKEN_HEADER = 'x-csrf-token';

const awaitingFormToken = new WeakSet<FastifyRequest>();

/**
 * Refuses every cross-site unsafe request before its body is read or any handler runs. Applies
 * to every path: the SPA and public files take no unsafe methods, and /auth, /api and protected
 * routes are exactly what must be covered.
 */
export function registerCsrf(app: FastifyInstance, options: CsrfOptions): void {
  const refuse = (request: FastifyRequest, reason: CsrfFailure): GatehouseError => {
    options.onReject?.(request, reason);
    request.log.info({ csrf: reason }, 'csrf rejected');
    return new GatehouseError('csrf_rejected');
  };
  const verifyToken = async (request: FastifyRequest, token: string | undefined): Promise<void> => {
    const session = await request.getSession();
    if (!token || !session || !verifyAntiForgeryToken(options.keys, session.id, token)) {
      throw refuse(request, token ? 'bad_token' : 'missing_header');
    }
  };

  // Callback-style hooks: they run on every request, and a safe method costs one Set lookup.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!UNSAFE_METHODS.has(request.method)) return done();
    // Matched on the route pattern Fastify resolved, so no encoding of the URL can reach it.
    if (options.exemptRoutes?.has(request.routeOptions.url ?? '')) return done();
    const failure = checkRequestOrigin(
      { origin: headerValue(request.headers.origin), secFetchSite: headerValue(request.headers['sec-fetch-site']) },
      options.publicOrigin,
      options.trustedOrigins,
    );
    if (failure) return done(refuse(request, failure));
    if (hasCsrfHeader(request.headers['x-csrf'])) return done();
    const headerToken = headerValue(request.headers[TOKEN_HEADER]);
    if (headerToken !== undefined) {
      verifyToken(request, headerToken).then(() => done(), done);
      return;
    }
    // A plain HTML form can only carry the token in its body: check it once the body is parsed.
    if ((request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      awaitingFormToken.add(request);
      return done();
    }
    done(refuse(request, 'missing_header'));
  });

  app.addHook('preHandler', (request, _reply, done) => {
    if (!awaitingFormToken.has(request)) return done();
    const body = request.body as Record<string, unknown> | undefined;
    const token = body && typeof body[FORM_TOKEN_FIELD] === 'string' ? (body[FORM_TOKEN_FIELD] as string) : undefined;
    verifyToken(request, token).then(() => done(), done);
  });
}
