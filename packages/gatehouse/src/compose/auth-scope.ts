import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import type { GatehouseConfig } from '../config/schema.js';
import type { Coordination } from '../backends/coordination/types.js';
import type { SessionCookie } from '../cookies/session-cookie.js';
import type { GatehouseError } from '../errors.js';
import type { Audit } from '../http/audit.js';
import type { KeyRing } from '../keys/keyring.js';
import type { LocalAccounts } from '../local/service.js';
import { sessionProviderLogout } from '../oidc/logout.js';
import type { OidcProvider } from '../oidc/providers.js';
import type { TokenRefresher } from '../oidc/refresh.js';
import { oidcRoutes } from '../oidc/routes.js';
import { TransactionCookie } from '../oidc/transaction.js';
import type { SessionManager } from '../session/manager.js';
import { authRoutes, type LocalAuthenticator } from '../auth/routes.js';

export interface AuthScopeOptions {
  config: GatehouseConfig;
  sessions: SessionManager;
  cookie: SessionCookie;
  keys: KeyRing;
  clock: Clock;
  coordination: Coordination;
  audit: Audit;
  local: LocalAccounts | undefined;
  providers: ReadonlyMap<string, OidcProvider>;
  refresher: TokenRefresher;
  /** The session guard's refusal of cross-site reads (`session/guard.ts`). */
  crossSiteRefusal: (request: FastifyRequest) => GatehouseError | undefined;
}

/**
 * Everything under `auth.prefix`: the session routes, local sign-in when enabled, and the OIDC
 * routes when providers are configured. No route here may be read by another site (Fetch
 * Metadata), session state included.
 */
export async function registerAuthScope(app: FastifyInstance, options: AuthScopeOptions): Promise<void> {
  const { config, sessions, cookie, keys, clock, audit, local, providers, refresher } = options;
  const persistentCookie = config.session.cookie.persistent;
  await app.register(
    async (scope) => {
      scope.addHook('onRequest', (request, _reply, done) => done(options.crossSiteRefusal(request)));
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
        persistentCookie,
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
          transactions: new TransactionCookie(config.session.cookie.name, keys, clock),
          keys,
          clock,
          coordination: options.coordination,
          sessionLifetime: config.session.absoluteTimeout,
          audit,
          publicOrigin: config.publicOrigin,
          loginPage: config.auth.loginPage,
          persistentCookie,
          localEnabled: local !== undefined,
          findLocalUser: local ? (username) => local.findUser(username) : undefined,
        });
      } else {
        scope.get('/providers', async () => ({ local: local !== undefined, providers: [] }));
      }
    },
    { prefix: config.auth.prefix },
  );
}
