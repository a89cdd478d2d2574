import type { IncomingHttpHeaders } from 'node:http';
import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { ApiConfig, GatehouseConfig } from '../config/schema.js';
import { DEFAULT_API_METHODS } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import { sendError } from '../http/errors.js';
import { type Metrics, noopMetrics } from '../metrics/metrics.js';
import type { SessionGuard } from '../session/guard.js';
import type { SessionRecord } from '../session/model.js';
import { type CredentialSources, routeCredentials } from './credentials.js';
import { applyRequestPolicy, downstreamResponseHeaders, forwardHeaderSet, type RequestHeaderPolicy, type ResponseHeaderPolicy } from './headers.js';
import { checkProxyPath, upstreamPath } from './path.js';

/** Every method a proxied route is registered for; the route's own list decides (405 otherwise). */
const ROUTED_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Upstream connections kept per origin (undici pool). */
const CONNECTIONS_PER_UPSTREAM = 128;

export interface ProxyOptions {
  config: GatehouseConfig;
  /**
   * The gateway's session guard (401 / 403 / login redirect; null: the redirect was sent) and its
   * refusal of cross-site reads (Fetch Metadata), for `auth: optional` routes.
   */
  access: Pick<SessionGuard, 'guard' | 'crossSiteRefusal'>;
  sources: CredentialSources;
  /** Names of Gatehouse's security response headers, which an upstream cannot override. */
  securityHeaderNames: ReadonlySet<string>;
  /** Records upstream latency per route (`gatehouse_upstream_duration_seconds`). Default: none. */
  metrics?: Metrics;
}

/**
 * The API proxy: one route per `apis[]` entry (its path and everything below it), forwarded with
 * @fastify/reply-from over undici (pooled keep-alive connections, bodies streamed both ways).
 * Registered in its own scope, whose only body parser hands the raw stream on, so uploads are
 * never buffered or re-encoded. CSRF is enforced before this by the global onRequest hook.
 */
export async function registerProxy(app: FastifyInstance, options: ProxyOptions): Promise<void> {
  const { config } = options;
  if (config.apis.length === 0) return;
  // One reply-from (one undici pool of keep-alive connections) per upstream origin.
  const byOrigin = new Map<string, ApiConfig[]>();
  for (const api of config.apis) {
    const origin = new URL(api.upstream).origin;
    byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), api]);
  }
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    for (const [origin, apis] of byOrigin) {
      await scope.register(async (upstreamScope) => {
        await upstreamScope.register(replyFrom, {
          // With a base, reply-from also refuses any target that would leave this origin.
          base: origin,
          undici: { connections: CONNECTIONS_PER_UPSTREAM, pipelining: 1, keepAliveTimeout: 10_000 },
          disableRequestLogging: true,
          // reply-from caches the parse of the last 100 target paths (a URL parse per repeated path saved).
          cacheURLs: 100,
        });
        for (const api of apis) registerRoute(upstreamScope, api, options);
      });
    }
  });
}

function registerRoute(scope: FastifyInstance, api: ApiConfig, options: ProxyOptions): void {
  const upstream = new URL(api.upstream);
  const methods: ReadonlySet<string> = new Set(api.methods ?? DEFAULT_API_METHODS);
  const allow = [...methods].join(', ');
  const cookiePrefix = options.config.session.cookie.name;
  const publicUrl = new URL(options.config.publicOrigin);
  const proto = publicUrl.protocol.slice(0, -1);
  const requestPolicy: RequestHeaderPolicy = { forwardCookies: api.forwardCookies, gatehouseCookiePrefix: cookiePrefix, forwardHeaders: forwardHeaderSet(api) };
  const responsePolicy: ResponseHeaderPolicy = {
    allowSetCookie: api.allowSetCookie,
    gatehouseCookiePrefix: cookiePrefix,
    securityHeaderNames: options.securityHeaderNames,
    perUser: api.auth !== 'none',
  };
  const metrics = options.metrics ?? noopMetrics;
  const onError = (reply: FastifyReply, { error }: { error: Error & { code?: string; statusCode?: number } }, started: number) => {
    const timedOut = error.statusCode === 504 || error.code === 'UND_ERR_CONNECT_TIMEOUT';
    metrics.upstream(api.path, timedOut ? 'timeout' : 'error', (performance.now() - started) / 1000);
    reply.request.log.warn({ upstream: upstream.origin, path: api.path, err: error.cause ?? error }, timedOut ? 'upstream timeout' : 'upstream unavailable');
    sendError(reply, new GatehouseError(timedOut ? 'upstream_timeout' : 'upstream_unavailable'));
  };

  const rewriteHeaders = (upstreamHeaders: IncomingHttpHeaders) => downstreamResponseHeaders(upstreamHeaders, responsePolicy);

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (!methods.has(request.method)) {
      throw new GatehouseError('method_not_allowed', { headers: { allow } });
    }
    // Matched again on the raw request target: the router decodes, we forward bytes.
    const checked = checkProxyPath(request.raw.url ?? '', api.path);
    if (!checked.ok) {
      request.log.info({ path: api.path, failure: checked.failure }, 'proxy path rejected');
      throw new GatehouseError('path_rejected');
    }
    let session: SessionRecord | null = null;
    if (api.auth === 'required') {
      session = await options.access.guard(request, reply, api.roles);
      if (!session) return reply;
    } else if (api.auth === 'optional') {
      const refusal = options.access.crossSiteRefusal(request);
      if (refusal) throw refusal;
      session = await request.getSession();
    }
    const credentials = await routeCredentials(api, session, options.sources);
    // A refresh for the user's token moved its expiry: cookie mode re-issues the cookie that carries it.
    if (credentials.session && session && credentials.session !== session) await request.sessionChanged(credentials.session);
    const additions = {
      authorization: credentials.authorization,
      userId: credentials.session?.userId,
      clientIp: request.ip,
      proto,
      host: publicUrl.host,
    };
    // Upstream latency: from here to the upstream's response headers (the body then streams).
    const started = performance.now();
    // reply-from hands over its own copy of the request headers (Host already the upstream's).
    return reply.from(upstreamPath(upstream, checked.rest, checked.query), {
      timeout: api.timeout,
      rewriteRequestHeaders: (_request, headers) => applyRequestPolicy(headers, requestPolicy, additions),
      rewriteHeaders,
      // What reply-from does without this option (send the body stream), after taking the time.
      onResponse: (_request, r, res) => {
        metrics.upstream(api.path, res.statusCode, (performance.now() - started) / 1000);
        r.send(res.stream);
      },
      onError: (r, e) => onError(r as unknown as FastifyReply, e as { error: Error & { code?: string; statusCode?: number } }, started),
    });
  };

  const route = { method: ROUTED_METHODS, handler, exposeHeadRoute: false } as const;
  scope.route({ ...route, url: api.path });
  scope.route({ ...route, url: `${api.path}/*` });
}
