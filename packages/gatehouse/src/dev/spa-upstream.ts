import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import { sendError } from '../http/errors.js';
import { applyRequestPolicy, downstreamResponseHeaders, type RequestHeaderPolicy, type ResponseHeaderPolicy } from '../proxy/headers.js';
import { checkProxyPath, upstreamPath } from '../proxy/path.js';
import { devServerCsp } from './csp.js';
import { isReserved } from './reserved.js';
import { type DevServerSockets, devServerSockets } from './spa-upstream-socket.js';

/** What {@link registerSpaUpstream} needs from the gateway. */
export interface SpaUpstreamOptions {
  /** `spa.upstream`: the dev server's origin, e.g. `http://localhost:5173`. */
  upstream: string;
  publicOrigin: string;
  /**
   * Path prefixes never sent to the dev server: the auth prefix, `/api` and every API route,
   * static mounts, and Gatehouse's own endpoints (`/.well-known`, `/healthz`…).
   */
  reservedPrefixes: readonly string[];
  /** Gatehouse's cookie name (and prefix of its other cookies): never forwarded. */
  cookiePrefix: string;
  /** The gateway's security headers: the dev server's copies are dropped, CSP relaxed (see `csp.ts`). */
  securityHeaders: Readonly<Record<string, string>>;
  /** The client address of a WebSocket upgrade, by the `trustProxy` rule (as `request.ip`). */
  clientIp: (request: IncomingMessage) => string;
}

/** Vite may hold the first requests while it pre-bundles dependencies; give it time. */
const DEV_SERVER_TIMEOUT_MS = 60_000;

/**
 * Development only (`spa.upstream`, what `gatehouse dev` fronts): the SPA comes from a dev server
 * instead of a built directory. Every GET/HEAD that no other route takes, outside the reserved
 * prefixes, is proxied to it with @fastify/reply-from — with the same header policy as an API
 * route and no credentials at all: the browser's Cookie and Authorization never reach the dev
 * server, nor does a Set-Cookie of the dev server reach the browser. Unsafe methods are refused as
 * with a built SPA (which only answers GET/HEAD), after the CSRF check. Returns the handler of
 * the dev server's WebSocket upgrades (HMR), for `attachWebSocketProxy`'s `fallback`.
 */
export async function registerSpaUpstream(app: FastifyInstance, options: SpaUpstreamOptions): Promise<DevServerSockets> {
  const upstream = new URL(options.upstream);
  const publicUrl = new URL(options.publicOrigin);
  const proto = publicUrl.protocol.slice(0, -1);
  const configuredCsp = options.securityHeaders['content-security-policy'];
  const csp = configuredCsp === undefined ? undefined : devServerCsp(configuredCsp, publicUrl.origin);
  const requestPolicy: RequestHeaderPolicy = { forwardCookies: [], gatehouseCookiePrefix: options.cookiePrefix };
  const responsePolicy: ResponseHeaderPolicy = {
    allowSetCookie: false,
    gatehouseCookiePrefix: options.cookiePrefix,
    securityHeaderNames: new Set(Object.keys(options.securityHeaders)),
  };
  const rewriteHeaders = (headers: IncomingHttpHeaders): IncomingHttpHeaders => {
    const out = downstreamResponseHeaders(headers, responsePolicy);
    if (csp !== undefined) out['content-security-policy'] = csp;
    return out;
  };
  const unavailable = `The dev server (${upstream.origin}) cannot be reached: is it running?`;

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const rawUrl = request.raw.url ?? '/';
    if (isReserved(rawUrl, options.reservedPrefixes)) throw new GatehouseError('not_found');
    // The same strict reading as API routes: a path the dev server could decode differently
    // ("..", "%2f") is refused, never cleaned up. Dev servers have had path traversal bugs.
    const checked = checkProxyPath(rawUrl, '');
    if (!checked.ok) {
      request.log.info({ failure: checked.failure }, 'dev server path rejected');
      throw new GatehouseError('path_rejected');
    }
    return reply.from(upstreamPath(upstream, checked.rest, checked.query), {
      timeout: DEV_SERVER_TIMEOUT_MS,
      rewriteRequestHeaders: (_request, headers) =>
        applyRequestPolicy(headers, requestPolicy, { clientIp: request.ip, proto, host: publicUrl.host }),
      rewriteHeaders,
      onError: (r, { error }) => {
        request.log.warn({ upstream: upstream.origin, err: (error as Error).cause ?? error }, 'dev server unavailable');
        sendError(r as unknown as FastifyReply, new GatehouseError('upstream_unavailable', { message: unavailable }));
      },
    });
  };

  await app.register(async (scope) => {
    // A base makes reply-from refuse any target that would leave the dev server's origin.
    await scope.register(replyFrom, { base: upstream.origin, disableRequestLogging: true });
    // Wildcards lose to every more specific route (auth, API, static mounts, health): the dev
    // server only gets what nothing else answers. HEAD follows GET.
    scope.get('/', handler);
    scope.get('/*', handler);
  });

  return devServerSockets({
    ...options,
    upstream: upstream.origin,
    log: app.log,
  });
}
