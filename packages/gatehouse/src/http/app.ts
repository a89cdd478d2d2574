import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { GatehouseConfig } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import { isUnderAnyPrefix, pathOfTarget } from '../util/path-prefix.js';
import { errorHandler } from './errors.js';
import { answerClientError, hardenListener, listenerOptions } from './listener.js';
import { hasRepeatedHost } from './request.js';
import { requestForLog } from './request-log.js';
import { normaliseForwardedFor, type TrustFunction } from './trust-proxy.js';

/** Requests larger than this are refused with 413 unless a route sets its own limit. */
const BODY_LIMIT = 1024 * 1024;

export interface AppOptions {
  /** The security headers every response carries (`securityHeaders`). */
  headers: Readonly<Record<string, string>>;
  /** The compiled `trustProxy` rule (`compileTrustProxy`). */
  trustProxy: TrustFunction | false;
  /** A pino logger or Fastify logger options; default: pino at the configured level. */
  logger?: boolean | Record<string, unknown>;
  /** TLS material for the listener; when absent the listener is plain HTTP. */
  https?: { cert: string; key: string } | null;
}

/**
 * The Fastify instance with what every request meets before any route: the listener's bounds,
 * the JSON refusal of malformed HTTP, the security headers, `no-store` on session state, and the
 * refusal of a repeated Host.
 */
export function createApp(config: GatehouseConfig, options: AppOptions): FastifyInstance {
  const { headers, trustProxy } = options;
  const listener = listenerOptions(config.listen);
  const fastifyOptions = {
    logger: options.logger ?? { level: config.logLevel, serializers: { req: requestForLog } },
    // Compiled here: Fastify 5.12 ignores a hop count (request.ip stayed the proxy's address).
    trustProxy,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    ...listener.fastify,
    // Bad input is refused, never reshaped: no type coercion, no silent removal of unknown fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // Oversized or malformed HTTP never reaches a route; answer it in the same JSON shape.
    clientErrorHandler: answerClientError,
    // Errors Fastify raises before routing (e.g. a malformed percent-encoding in the URL) get the
    // same JSON refusal and headers as everything else, not Fastify's own body.
    frameworkErrors: (error, _request, reply) => {
      reply.headers(headers);
      return errorHandler(error, _request, reply);
    },
  } satisfies FastifyServerOptions;
  // The HTTPS server type differs from HTTP's only in ways routes never see.
  const app = (
    options.https
      ? Fastify({ ...fastifyOptions, https: { ...options.https, ...listener.server, ...listener.tls } })
      : Fastify({ ...fastifyOptions, http: listener.server })
  ) as unknown as FastifyInstance;
  hardenListener(app, config.listen);
  // First hook: X-Forwarded-For entries read as bare IPs (or cut) before anything reads request.ip.
  if (trustProxy !== false) {
    app.addHook('onRequest', (request, _reply, done) => {
      normaliseForwardedFor(request.raw.headers);
      done();
    });
  }
  app.setErrorHandler(errorHandler);
  // Gatehouse's own routes take JSON (and urlencoded forms); text/plain is what a cross-site
  // form can send without a preflight, so it is not parsed at all (415).
  app.removeContentTypeParser('text/plain');
  const authPrefix = config.auth.prefix;
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(headers);
    // Session state must never be kept by a browser or a shared cache (RFC 9111 §5.2.2.5), under
    // any spelling the router takes for the auth prefix: it decodes, so "/%61uth/session" is
    // "/auth/session". The plain text match stays too: no-store on "/authx" costs nothing.
    if (request.url.startsWith(authPrefix) || isUnderAnyPrefix(pathOfTarget(request.url), [authPrefix], { alsoDecoded: true })) {
      reply.header('cache-control', 'no-store');
    }
    // RFC 9112 §3.2: more than one Host field is a 400.
    done(hasRepeatedHost(request.raw.rawHeaders) ? new GatehouseError('invalid_request') : undefined);
  });
  return app;
}
