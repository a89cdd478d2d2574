import { join } from 'node:path';
import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import { authRoutes, type LocalAuthenticator } from './auth/routes.js';
import { type Clock, systemClock } from './clock.js';
import type { GatehouseConfig } from './config/schema.js';
import { SessionCookie } from './cookies/session-cookie.js';
import { registerCsrf } from './csrf/hook.js';
import { GatehouseError } from './errors.js';
import { type Audit, createAudit } from './http/audit.js';
import { createApp } from './http/app.js';
import { devCorsOrigins, registerDevCors } from './http/cors.js';
import { registerHealthRoutes } from './http/health.js';
import { securityHeaders } from './http/security-headers.js';
import { clientAddressResolver, compileTrustProxy } from './http/trust-proxy.js';
import { type KeyRing, loadOrCreateKeyRing } from './keys/keyring.js';
import { auditMetrics, createGatewayMetrics, registerMetrics } from './metrics/index.js';
import { SessionManager } from './session/manager.js';
import { createSessionGuard, type SessionGuard } from './session/guard.js';
import { sessionPlugin } from './session/plugin.js';
import { registerStaticMount } from './static/protected.js';
import { registerSpa } from './static/spa.js';
import { createMemoryCoordination } from './coordination/memory.js';
import type { Coordination } from './coordination/types.js';
import { openSessionBackend } from './stores/index.js';
import type { SessionStore } from './stores/types.js';
import { createLocalAccounts, type LocalAccounts } from './local/service.js';
import { sessionProviderLogout } from './oidc/logout.js';
import { createProviders, type OidcProvider } from './oidc/providers.js';
import { TokenRefresher } from './oidc/refresh.js';
import { oidcRoutes } from './oidc/routes.js';
import { TransactionCookie } from './oidc/transaction.js';
import type { CustomFetch } from 'openid-client';
import { createCredentialSources } from './proxy/credentials.js';
import { registerProxy } from './proxy/routes.js';
import { attachWebSocketProxy } from './proxy/websocket.js';
import { RESERVED_PATHS } from './config/checks/apis.js';
import { registerSpaUpstream } from './dev/spa-upstream.js';
import { registerJwksRoute } from './tokens/jwks.js';
import { SigningKeyRing } from './tokens/signing-keys.js';

/** Parts a caller may supply instead of the ones the config describes (tests, embedding). */
export interface GatehouseDeps {
  clock?: Clock;
  store?: SessionStore;
  /** State shared by instances (throttle, locks); default: the session backend's, or in-process with `store`. */
  coordination?: Coordination;
  keys?: KeyRing;
  /** Signing keys of internal tokens; default: `dataDir/signing-keys.json` when a route uses them. */
  signingKeys?: SigningKeyRing;
  local?: LocalAccounts;
  /** TLS material for the listener; when absent the listener is plain HTTP (tests use inject()). */
  https?: { cert: string; key: string } | null;
  /** A pino logger or Fastify logger options; default: pino at the configured level. */
  logger?: boolean | Record<string, unknown>;
  /** fetch for provider requests (tests inject one); default: the global fetch. */
  fetch?: CustomFetch;
  /** Adds routes inside the gateway (the demo API) with access to the session guard. */
  extend?: (app: FastifyInstance, context: GatehouseContext) => Promise<void> | void;
}

/** What routes added with {@link GatehouseDeps.extend} can use. */
export interface GatehouseContext {
  config: GatehouseConfig;
  sessions: SessionManager;
  /**
   * The session, or the refusal: throws 401 (API), 403 (cross-site, missing role); for a
   * navigation without a session, sends a redirect to the login page and resolves null —
   * the caller must then `return reply`.
   */
  guard: SessionGuard['guard'];
  audit: Audit;
}

export interface Gatehouse {
  app: FastifyInstance;
  config: GatehouseConfig;
  sessions: SessionManager;
  store: SessionStore;
  /** Throttle counters, locks and marks: shared by instances when the store is. */
  coordination: Coordination;
  local: LocalAccounts | undefined;
  keys: KeyRing;
  /** Signing keys of internal tokens (published at /.well-known/jwks.json); null when no route uses them. */
  signingKeys: SigningKeyRing | null;
  /** The configured OpenID providers, by id. */
  providers: ReadonlyMap<string, OidcProvider>;
  /** The plain-HTTP admin listener of `metrics.port` (`/metrics`), not yet listening; null without one. */
  metricsListener: FastifyInstance | null;
  /** Stops the listeners and closes the stores. */
  close(): Promise<void>;
}

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
    ? { store: deps.store, coordination: deps.coordination ?? createMemoryCoordination({ clock }) }
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
  const keys = deps.keys ?? loadOrCreateKeyRing(join(config.dataDir, 'keys.json'));
  const local =
    deps.local ?? (config.local.enabled ? createLocalAccounts(config, clock, undefined, coordination) : undefined);
  const sessions = new SessionManager({
    store: observedStore,
    clock,
    idleTimeout: config.session.idleTimeout,
    absoluteTimeout: config.session.absoluteTimeout,
    maxPerUser: config.session.maxPerUser,
  });
  const headers = securityHeaders(config, config.publicOrigin.startsWith('https:'));
  const c = config.session.cookie;
  const cookie = new SessionCookie({
    name: c.name,
    sameSite: c.sameSite,
    secure: c.secure,
    httpOnly: c.httpOnly,
    path: c.path,
    domain: c.domain,
    maxAgeSeconds: c.persistent ? Math.floor(config.session.absoluteTimeout / 1000) : undefined,
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
  storeError = (error) => app.log.warn({ err: error }, `session store: ${error instanceof Error ? error.message : String(error)}`);
  // Internal tokens (issue 4): an asymmetric key ring, only when some route sends them.
  const signingKeys =
    deps.signingKeys ??
    (config.apis.some((api) => api.token === 'internal')
      ? await SigningKeyRing.open(join(config.dataDir, 'signing-keys.json'), config.internalTokens.algorithm)
      : null);
  const authPrefix = config.auth.prefix;
  const devOrigins = devCorsOrigins(config);
  registerDevCors(app, [...devOrigins], config.cors.allowCredentials);
  await app.register(sessionPlugin, { sessions, cookie });
  registerCsrf(app, {
    publicOrigin: config.publicOrigin,
    // The provider posts logout tokens server-to-server; the signed token is the authentication.
    exemptRoutes: new Set([`${authPrefix}/backchannel-logout/:provider`]),
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

  await app.register(
    async (scope) => {
      scope.addHook('onRequest', (request, _reply, done) => done(access.crossSiteRefusal(request)));
      const authenticate: LocalAuthenticator | undefined = local
        ? (u, p, a, signal, device) => local.authenticate(u, p, a, signal, device)
        : undefined;
      await authRoutes(scope, {
        sessions,
        cookie,
        keys,
        audit,
        authenticate,
        changePassword: local ? (u, cur, next, a) => local.changePassword(u, cur, next, a) : undefined,
        persistentCookie: c.persistent,
        deviceCookies: config.local.deviceCookies,
        refresh: providers.size > 0 ? (session) => refresher.ensureFresh(session) : undefined,
        providerLogout: sessionProviderLogout(
          providers,
          (session) => refresher.tokens(session),
          (error) => app.log.warn({ err: error }, 'provider logout step failed'),
        ),
      });
      if (providers.size > 0) {
        await oidcRoutes(scope, {
          providers,
          sessions,
          cookie,
          transactions: new TransactionCookie(c.name, keys, clock),
          keys,
          clock,
          coordination,
          sessionLifetime: config.session.absoluteTimeout,
          audit,
          publicOrigin: config.publicOrigin,
          loginPage: config.auth.loginPage,
          persistentCookie: c.persistent,
          localEnabled: local !== undefined,
          findLocalUser: local ? (username) => local.findUser(username) : undefined,
        });
      } else {
        scope.get('/providers', async () => ({ local: local !== undefined, providers: [] }));
      }
    },
    { prefix: authPrefix },
  );

  registerHealthRoutes(app, store);
  const metricsListener = registerMetrics(app, config, metrics);

  const context: GatehouseContext = { config, sessions, guard, audit };
  await deps.extend?.(app, context);

  registerJwksRoute(app, signingKeys);
  const sources = await createCredentialSources(config, { refresher, signingKeys, clock, fetch: deps.fetch });
  await registerProxy(app, { config, access, sources, securityHeaderNames: new Set(Object.keys(headers)), metrics });
  const reservedPrefixes = [authPrefix, '/api', ...config.static.map((s) => s.path), ...config.apis.map((api) => api.path)];
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
  {
    const detach = attachWebSocketProxy(app.server, {
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
      detach();
      devServer?.close();
      done();
    });
  }

  for (const mount of config.static) {
    await registerStaticMount(app, mount, guard);
  }
  const spaFallback =
    config.spa?.root !== undefined
      ? await registerSpa(app, { root: config.spa.root, index: config.spa.index, symlinks: config.spa.symlinks, reservedPrefixes })
      : undefined;
  app.setNotFoundHandler(
    spaFallback ??
      (async () => {
        throw new GatehouseError('not_found');
      }),
  );

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
      await store.close();
      await coordination.close();
      await local?.close();
    },
  };
}
