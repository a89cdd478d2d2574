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
  const reject = (request: FastifyRequest, reason: CsrfFailure): never => {
    options.onReject?.(request, reason);
    request.log.info({ csrf: reason }, 'csrf rejected');
    throw new GatehouseError('csrf_rejected');
  };
  const verifyToken = async (request: FastifyRequest, token: string | undefined): Promise<void> => {
    const session = await request.getSession();
    if (!token || !session || !verifyAntiForgeryToken(options.keys, session.id, token)) reject(request, token ? 'bad_token' : 'missing_header');
  };

  app.addHook('onRequest', async (request) => {
    if (!UNSAFE_METHODS.has(request.method)) return;
    const failure = checkRequestOrigin(
      { origin: headerValue(request.headers.origin), secFetchSite: headerValue(request.headers['sec-fetch-site']) },
      options.publicOrigin,
      options.trustedOrigins,
    );
    if (failure) reject(request, failure);
    if (hasCsrfHeader(request.headers['x-csrf'])) return;
    const headerToken = headerValue(request.headers[TOKEN_HEADER]);
    if (headerToken !== undefined) return verifyToken(request, headerToken);
    // A plain HTML form can only carry the token in its body: check it once the body is parsed.
    if ((request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      awaitingFormToken.add(request);
      return;
    }
    reject(request, 'missing_header');
  });

  app.addHook('preHandler', async (request) => {
    if (!awaitingFormToken.has(request)) return;
    const body = request.body as Record<string, unknown> | undefined;
    const token = body && typeof body[FORM_TOKEN_FIELD] === 'string' ? (body[FORM_TOKEN_FIELD] as string) : undefined;
    await verifyToken(request, token);
  });
}
