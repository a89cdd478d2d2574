import formbody from '@fastify/formbody';
import { registerAuthScope } from './compose/auth-scope.js';
import { createSessions, type SessionEvents } from './compose/sessions.js';
import { systemClock } from './clock.js';
import type { GatehouseConfig } from './config/schema.js';
import { registerCsrf } from './csrf/hook.js';
import { createAudit } from './http/audit.js';
import { createApp } from './http/app.js';
import { devCorsOrigins, registerDevCors } from './http/cors.js';
import { registerHealthRoutes } from './http/health.js';
import { securityHeaders } from './http/security-headers.js';
import { clientAddressResolver, compileTrustProxy } from './http/trust-proxy.js';
import { openKeyRing } from './keys/open.js';
import { auditMetrics, createGatewayMetrics, registerMetrics } from './metrics/index.js';
import { createSessionGuard } from './session/guard.js';
import { sessionPlugin } from './session/plugin.js';
import { registerStaticContent, spaReservedPrefixes } from './static/mount.js';
import { createMemoryCoordination } from './backends/coordination/memory.js';
import { createMemoryRevocations } from './backends/revocations/index.js';
import { openSessionBackend } from './backends/stores/index.js';
import { createLocalAccounts } from './local/service.js';
import { createProviders } from './oidc/providers.js';
import { TokenRefresher } from './oidc/refresh.js';
import { createCredentialSources, openInternalSigningKeys } from './proxy/credentials.js';
import { registerProxy } from './proxy/routes.js';
import { attachWebSocketProxy } from './proxy/websocket.js';
import { RESERVED_PATHS } from './config/checks/apis.js';
import { registerSpaUpstream } from './dev/spa-upstream.js';
import { registerJwksRoute } from './tokens/jwks.js';
import type { Gatehouse, GatehouseContext, GatehouseDeps } from './types.js';

export type { Gatehouse, GatehouseContext, GatehouseDeps } from './types.js';

/**
 * The composition root: config in, a ready Fastify app out. Every concern lives in its own
 * folder; this file only decides the order in which they see a request.
 */
export async function createGatehouse(config: GatehouseConfig, deps: GatehouseDeps = {}): Promise<Gatehouse> {
  const clock = deps.clock ?? systemClock;
  // Connection drops and failed background purges have no request to fail: they are logged, so an
  // operator sees why /readyz says not ready. The logger exists once the app does (below).
  let storeError: (error: unknown) => void = () => {};
  const backend = deps.store
    ? { store: deps.store, coordination: deps.coordination ?? createMemoryCoordination({ clock }), revocations: createMemoryRevocations({ clock }) }
    : await openSessionBackend(config.session.store, {
        clock,
        redis: config.redis,
        postgres: config.postgres,
        onError: (error) => storeError(error),
      });
  const store = backend.store;
  const coordination = deps.coordination ?? backend.coordination;
  // A caller's coordination replaces the backend's: release that one's share of the connection.
  if (deps.coordination && backend.coordination !== deps.coordination) await backend.coordination.close();
  // Observability (issue 5): no-op unless `metrics.enabled`; the store comes back timed when it is.
  const { metrics, store: observedStore } = createGatewayMetrics(config, store);
  const keys = deps.keys ?? openKeyRing(config, { clock });
  const local =
    deps.local ?? (config.local.enabled ? createLocalAccounts(config, clock, undefined, coordination) : undefined);
  const headers = securityHeaders(config, config.publicOrigin.startsWith('https:'));
  const c = config.session.cookie;
  // Audit events of the session core (no request at hand); the logger exists once the app does.
  let sessionEvent: SessionEvents['onTooLarge'] = () => {};
  const { sessions, cookie } = createSessions(config, {
    store: observedStore,
    revocations: backend.revocations,
    clock,
    keys,
    local,
    onTooLarge: (fields) => sessionEvent(fields),
  });

  const trustProxy = compileTrustProxy(config.trustProxy);
  const providers = createProviders(config, { clock, fetch: deps.fetch });
  const refresher = new TokenRefresher({
    providers,
    sessions,
    keys,
    clock,
    coordination,
    onRefresh: (session, outcome) => audit.background('token_refresh', { outcome, userId: session.userId, sessionId: session.id }),
  });
  const app = createApp(config, { headers, trustProxy, logger: deps.logger, https: deps.https });
  const audit = createAudit(app.log, auditMetrics(metrics));
  sessionEvent = (fields) => audit.background('session_cookie_too_large', fields);
  storeError = (error) => app.log.warn({ err: error }, `session store: ${error instanceof Error ? error.message : String(error)}`);
  const signingKeys = deps.signingKeys ?? (await openInternalSigningKeys(config));
  const devOrigins = devCorsOrigins(config);
  registerDevCors(app, [...devOrigins], config.cors.allowCredentials);
  await app.register(sessionPlugin, { sessions, cookie });
  registerCsrf(app, {
    publicOrigin: config.publicOrigin,
    // The provider posts logout tokens server-to-server; the signed token is the authentication.
    exemptRoutes: new Set([`${config.auth.prefix}/backchannel-logout/:provider`]),
    keys,
    trustedOrigins: devOrigins,
    onReject: (request, reason) => audit('csrf_rejected', request, { reason }),
  });
  await app.register(formbody, { bodyLimit: 64 * 1024 });

  const access = createSessionGuard({
    sessions,
    cookie,
    loginPage: config.auth.loginPage,
    publicOrigin: config.publicOrigin,
    trustedOrigins: devOrigins,
    audit,
  });
  const { guard } = access;
  // Upgrades bypass Fastify: the same trustProxy rule as request.ip.
  const clientIp = clientAddressResolver(trustProxy);

  await registerAuthScope(app, {
    config,
    sessions,
    cookie,
    keys,
    clock,
    coordination,
    audit,
    local,
    providers,
    refresher,
    crossSiteRefusal: access.crossSiteRefusal,
  });

  registerHealthRoutes(app, store);
  const metricsListener = registerMetrics(app, config, metrics);

  const context: GatehouseContext = { config, sessions, guard, audit };
  await deps.extend?.(app, context);

  registerJwksRoute(app, signingKeys);
  const sources = await createCredentialSources(config, { refresher, signingKeys, clock, fetch: deps.fetch });
  await registerProxy(app, { config, access, sources, securityHeaderNames: new Set(Object.keys(headers)), metrics });
  const reservedPrefixes = spaReservedPrefixes(config);
  // Development only (`gatehouse dev`): the SPA and its HMR socket come from a dev server.
  const devServer =
    config.spa?.upstream !== undefined
      ? await registerSpaUpstream(app, {
          upstream: config.spa.upstream,
          publicOrigin: config.publicOrigin,
          reservedPrefixes: [...reservedPrefixes, ...RESERVED_PATHS],
          cookiePrefix: c.name,
          securityHeaders: headers,
          clientIp,
        })
      : undefined;
  // Always listening for upgrades, even with no WebSocket route: without a listener Node hands a
  // handshake to the HTTP routes as a plain GET — and browsers send no Sec-Fetch-* headers on
  // handshakes, so a same-site page could reach an API route with the user's cookie. The proxy
  // refuses every upgrade that is not to a WebSocket route (or the dev server's HMR socket).
  const detachUpgrades = attachWebSocketProxy(app.server, {
    apis: config.apis,
    publicOrigin: config.publicOrigin,
    cookiePrefix: c.name,
    resolveSession: access.resolveSession,
    sources,
    clientIp,
    log: app.log,
    fallback: devServer?.upgrade,
  });
  app.addHook('onClose', (_app, done) => {
    detachUpgrades();
    devServer?.close();
    done();
  });

  await registerStaticContent(app, config, guard, reservedPrefixes);

  return {
    app,
    config,
    sessions,
    store,
    coordination,
    local,
    keys,
    signingKeys,
    providers,
    metricsListener,
    async close() {
      await app.close();
      await metricsListener?.close();
      await backend.revocations.close();
      await store.close();
      await coordination.close();
      await local?.close();
    },
  };
}
