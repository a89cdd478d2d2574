import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import type { Coordination } from '../backends/coordination/types.js';
import { requestCookies } from '../cookies/request-cookies.js';
import type { SessionCookie } from '../cookies/session-cookie.js';
import { GatehouseError, StoreUnavailableError } from '../errors.js';
import type { Audit } from '../http/audit.js';
import { isNavigation } from '../http/request.js';
import { safeReturnTo } from '../http/return-to.js';
import type { KeyRing } from '../keys/keyring.js';
import type { SessionManager } from '../session/manager.js';
import type { SessionUser } from '../session/model.js';
import { authorizationRequest, classify, completeLogin, LoginError } from './login.js';
import { LogoutTokenVerifier, matchesLogout } from './logout.js';
import type { OidcProvider } from './providers.js';
import type { TransactionCookie } from './transaction.js';

export interface OidcRoutesOptions {
  providers: ReadonlyMap<string, OidcProvider>;
  sessions: SessionManager;
  cookie: SessionCookie;
  transactions: TransactionCookie;
  keys: KeyRing;
  clock: Clock;
  /** Shared by instances: back-channel `sid` → user lookups and `jti` replay marks. */
  coordination: Coordination;
  /** The absolute session timeout, ms: how long a `sid` → user entry must be kept. */
  sessionLifetime: number;
  audit: Audit;
  publicOrigin: string;
  loginPage: string;
  persistentCookie: boolean;
  localEnabled: boolean;
  findLocalUser?: ((username: string) => Promise<SessionUser | null>) | undefined;
}

/** Callback query parameters are short; anything longer is not a real authorization response. */
const MAX_CALLBACK_QUERY = 8192;

/**
 * The federated sign-in endpoints under the auth prefix: provider list, login start, callback,
 * and back-channel logout. The protocol work is openid-client's and jose's; this file moves
 * cookies, sessions and redirects.
 */
export async function oidcRoutes(app: FastifyInstance, options: OidcRoutesOptions): Promise<void> {
  const { providers, sessions, cookie, transactions, audit } = options;
  const providerOr404 = (id: unknown): OidcProvider => {
    const provider = typeof id === 'string' ? providers.get(id) : undefined;
    if (!provider) throw new GatehouseError('unknown_provider');
    return provider;
  };

  app.get('/providers', async () => ({
    local: options.localEnabled,
    providers: [...providers.values()].map((p) => ({
      id: p.config.id,
      name: p.config.name ?? p.config.id,
      loginUrl: `${app.prefix}/login?provider=${encodeURIComponent(p.config.id)}`,
    })),
  }));

  app.get<{ Querystring: Record<string, unknown> }>('/login', async (request, reply) => {
    const provider = providerOr404(request.query.provider);
    const returnTo = safeReturnTo(request.query.returnTo, options.publicOrigin);
    let started: Awaited<ReturnType<typeof authorizationRequest>>;
    try {
      started = await authorizationRequest(provider, returnTo);
    } catch (error) {
      const failure = classify(error);
      request.log.warn({ provider: provider.config.id, err: error }, `sign-in could not start: ${failure.reason}`);
      return loginFailed(request, reply, failure);
    }
    const { url, transaction } = started;
    // One cookie per login in flight (other tabs may be signing in too); the oldest beyond the
    // bound are expired in the same answer.
    reply.header('set-cookie', await transactions.create(transaction, requestCookies(request)));
    return reply.redirect(url.toString(), 302);
  });

  app.get<{ Params: { provider: string } }>('/callback/:provider', async (request, reply) => {
    const provider = providerOr404(request.params.provider);
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    const params = new URLSearchParams(query);
    // The logins this callback names: a refusal clears their cookies, and no other tab's.
    const named = [...new Set(params.getAll('state').slice(0, 2))];
    try {
      if (query.length > MAX_CALLBACK_QUERY) throw new LoginError('login_failed', 'callback query too long');
      const keys = [...params.keys()];
      // A parameter given twice is ambiguous: refuse rather than pick one (OAuth 2.0 §3.1).
      if (new Set(keys).size !== keys.length) throw new LoginError('login_failed', 'duplicated callback parameter');
      // The state names the transaction (one cookie per login in flight): no state, no transaction.
      const state = params.get('state');
      if (state === null) throw new LoginError('login_transaction_invalid', 'callback without state');
      // Marked used in the shared coordination state before anything reaches the provider: a
      // replay on this or any other instance stops here. An unreachable backend rejects (503).
      const tx = await transactions.consume(requestCookies(request), state, options.coordination);
      // Single use: from here on, whatever happens next, this login's cookie is gone.
      reply.header('set-cookie', transactions.clear(state));
      if (!tx) throw new LoginError('login_transaction_invalid', 'missing, expired, forged or replayed transaction');
      if (tx.provider !== provider.config.id) throw new LoginError('login_transaction_invalid', 'transaction of another provider');
      const callbackUrl = new URL(`${options.publicOrigin}${app.prefix}/callback/${provider.config.id}?${query}`);
      const result = await completeLogin(provider, callbackUrl, tx, options);
      // Session fixation: the browser's previous session (if any) ends; the new one has a fresh id.
      const previous = await request.getSession().catch(() => null);
      if (previous) await sessions.revoke(previous.id);
      // Before the session exists: should this write fail, no session is left that a sid-only
      // back-channel logout could never find.
      if (result.oidc.sid) await rememberSid(provider.config.id, result.oidc.sid, result.user.id);
      const { token, record, evicted } = await sessions.create({
        user: result.user,
        provider: provider.config.id,
        client: clientInfo(request),
        data: { oidc: result.oidc },
      });
      // Appended to the transaction cookie's expiry set above.
      reply.header(
        'set-cookie',
        cookie.write(token, options.persistentCookie ? sessions.remainingSeconds(record) : undefined, requestCookies(request)),
      );
      audit('login', request, { method: 'oidc', provider: provider.config.id, userId: result.user.id, sessionId: record.id, ...(evicted > 0 ? { evicted } : {}) });
      return reply.redirect(tx.returnTo, 303);
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        // Fail closed: no session, and — when the transaction could not be marked used — no code
        // exchange either. The cookie is then kept (no Set-Cookie yet), so reloading the callback
        // once the backend is back completes the sign-in with the still unspent code.
        audit('login_failed', request, { method: 'oidc', provider: provider.config.id, error: error.code, reason: 'coordination or session store unavailable' });
        throw error;
      }
      const failure = classify(error);
      if (!reply.hasHeader('set-cookie') && named.length > 0) reply.header('set-cookie', named.map((s) => transactions.clear(s)));
      audit('login_failed', request, { method: 'oidc', provider: provider.config.id, error: failure.code, reason: failure.reason });
      return loginFailed(request, reply, failure);
    }
  });

  const verifiers = new Map<string, LogoutTokenVerifier>();
  app.post<{ Params: { provider: string }; Body: Record<string, unknown> }>(
    '/backchannel-logout/:provider',
    { bodyLimit: 16 * 1024 },
    async (request, reply) => {
      // The provider calls this, not a browser: errors are never cached, and say only what was wrong.
      reply.header('cache-control', 'no-store');
      const provider = providerOr404(request.params.provider);
      const token = request.body && typeof request.body === 'object' ? request.body.logout_token : undefined;
      if (typeof token !== 'string' || token.length === 0) {
        throw new GatehouseError('invalid_logout_token', { message: 'Invalid logout token: logout_token is missing.' });
      }
      let verifier = verifiers.get(provider.config.id);
      if (!verifier) {
        verifier = new LogoutTokenVerifier(provider, options.coordination);
        verifiers.set(provider.config.id, verifier);
      }
      const claims = await verifier.verify(token);
      const ended = await endSessions(provider.config.id, claims);
      await verifier.markUsed(claims.jti);
      audit('backchannel_logout', request, { provider: provider.config.id, ended });
      return reply.code(200).send();
    },
  );

  /**
   * Ends the sessions a logout token names. Users are `<provider>:<sub>`, so a token with `sub`
   * finds them through the store's user index; a `sid`-only token uses the sid → user entry
   * recorded at sign-in in the coordination state, which every instance shares.
   */
  const sidKey = (providerId: string, sid: string) => `bcl-sid:${providerId}:${sid}`;
  async function rememberSid(providerId: string, sid: string, userId: string): Promise<void> {
    await options.coordination.put(sidKey(providerId, sid), userId, options.sessionLifetime);
  }
  async function endSessions(providerId: string, claims: { sub?: string | undefined; sid?: string | undefined }): Promise<number> {
    const userId =
      claims.sub !== undefined
        ? `${providerId}:${claims.sub}`
        : claims.sid
          ? await options.coordination.get(sidKey(providerId, claims.sid))
          : undefined;
    if (!userId) return 0;
    let ended = 0;
    for (const session of await sessions.list(userId)) {
      if (matchesLogout(session, claims)) {
        await sessions.revoke(session.id);
        ended++;
      }
    }
    return ended;
  }

  function loginFailed(request: FastifyRequest, reply: FastifyReply, failure: LoginError): FastifyReply {
    if (isNavigation(request)) {
      // A person is looking: back to the login page, which shows the message for the code.
      return reply.redirect(`${options.loginPage}?login_error=${failure.code}`, 303);
    }
    return reply.code(failure.status).send(failure.toJSON());
  }
}

function clientInfo(request: FastifyRequest) {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, ...(ua ? { userAgent: ua.slice(0, 256) } : {}) };
}
