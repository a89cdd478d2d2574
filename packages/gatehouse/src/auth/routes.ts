import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requestCookies } from '../cookies/request-cookies.js';
import type { SessionCookie } from '../cookies/session-cookie.js';
import { antiForgeryToken } from '../csrf/token.js';
import { GatehouseError } from '../errors.js';
import type { Audit } from '../http/audit.js';
import type { KeyRing } from '../keys/keyring.js';
import { createDeviceCookies } from '../local/device-cookie.js';
import { InvalidCredentialsError } from '../local/login.js';
import type { SessionManager } from '../session/manager.js';
import { requireSession } from '../session/plugin.js';
import type { SessionRecord, SessionUser } from '../session/model.js';
import { deviceView, sessionView } from './view.js';

/**
 * Verifies a local username + password; throws `invalid_credentials` / `login_throttled`.
 * `signal` aborts when the client hangs up, so a sign-in still queued for argon2 is dropped.
 * `device` is the nonce of a device cookie verified for this username (local/device-cookie.ts).
 */
export type LocalAuthenticator = (username: string, password: string, address: string, signal?: AbortSignal, device?: string) => Promise<SessionUser>;

/** Checks the current password and sets a new one; throws like {@link LocalAuthenticator} or `password_rejected`. */
export type PasswordChanger = (username: string, currentPassword: string, newPassword: string, address: string) => Promise<void>;

export interface AuthRoutesOptions {
  sessions: SessionManager;
  cookie: SessionCookie;
  keys: KeyRing;
  audit: Audit;
  /** Absent when local accounts are disabled: POST /auth/login then answers 404. */
  authenticate?: LocalAuthenticator | undefined;
  changePassword?: PasswordChanger | undefined;
  /** Session cookies carry Max-Age = remaining absolute lifetime when true. */
  persistentCookie: boolean;
  /** `local.deviceCookies`: trust browsers that signed in before (OWASP device cookies). Default false here; the config defaults it on. */
  deviceCookies?: boolean | undefined;
  /** Federated sessions: a session with a fresh access token, or null when the provider ended it. */
  refresh?: ((session: SessionRecord) => Promise<SessionRecord | null>) | undefined;
  /** Federated sessions: provider logout after the local session is gone; the end-session URL. */
  providerLogout?: ((session: SessionRecord) => Promise<string | undefined>) | undefined;
}

/** Login bodies are small; anything bigger is refused (413) before parsing or hashing. */
const LOGIN_BODY_LIMIT = 8 * 1024;

const loginBody = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: {
    username: { type: 'string', minLength: 1 },
    password: { type: 'string', minLength: 1 },
  },
} as const;

const passwordBody = {
  type: 'object',
  required: ['currentPassword', 'newPassword'],
  additionalProperties: false,
  properties: {
    currentPassword: { type: 'string', minLength: 1 },
    newPassword: { type: 'string', minLength: 1 },
  },
} as const;

const sessionIdParam = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } },
} as const;

/** `/auth/*`: the session contract of DESIGN.md. Registered under the configured prefix. */
export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  const { sessions, cookie, keys, audit } = options;
  // OWASP "Slow Down Online Guessing Attacks with Device Cookies": a browser that signed in before
  // gets priority and its own lockout, so floods and lockouts from elsewhere do not keep it out.
  const devices = options.deviceCookies ? createDeviceCookies(keys, cookie.name) : undefined;
  const setSessionCookie = (request: FastifyRequest, reply: FastifyReply, token: string, record: SessionRecord) =>
    reply.header(
      'set-cookie',
      cookie.write(token, options.persistentCookie ? sessions.remainingSeconds(record) : undefined, requestCookies(request)),
    );
  const clearSessionCookie = (request: FastifyRequest, reply: FastifyReply) => reply.header('set-cookie', cookie.clearAll(requestCookies(request)));

  // The answer depends only on the record, and stores hand out the same frozen record until it
  // changes: serialize it (with its HMAC-derived token) once per record, not once per request.
  const views = new WeakMap<SessionRecord, string>();

  // The failure that locks a username or an address is an event of its own: when an attack was stopped.
  const auditLockout = (request: FastifyRequest, error: unknown, username: string) => {
    if (error instanceof InvalidCredentialsError && error.locked.length > 0) {
      audit('lockout', request, { method: 'local', username, locked: [...error.locked] });
    }
  };

  app.get('/session', async (request, reply) => {
    let session = await requireSession(request, reply, cookie);
    if (options.refresh) {
      const fresh = await options.refresh(session);
      if (!fresh) {
        // The provider refused the refresh (revoked, or another user): the session is over.
        clearSessionCookie(request, reply);
        throw new GatehouseError('unauthenticated');
      }
      // Cookie mode: the cookie carries the access token's expiry, so a refresh re-issues it.
      if (fresh !== session) await request.sessionChanged(fresh);
      session = fresh;
    }
    let body = views.get(session);
    if (body === undefined) {
      body = JSON.stringify(sessionView(session, antiForgeryToken(keys, session.id)));
      if (Object.isFrozen(session)) views.set(session, body);
    }
    return reply.type('application/json; charset=utf-8').send(body);
  });

  app.post<{ Body: { username: string; password: string } }>(
    '/login',
    { bodyLimit: LOGIN_BODY_LIMIT, schema: { body: loginBody } },
    async (request, reply) => {
      if (!options.authenticate) throw new GatehouseError('not_found', { message: 'Local sign-in is not enabled.' });
      const { username, password } = request.body;
      let user: SessionUser;
      // Only a token for this very username counts: one for another account gives no trust.
      const device = devices?.trusted(requestCookies(request), username);
      try {
        user = await options.authenticate(username, password, request.ip, hangUpSignal(reply), device);
      } catch (error) {
        if (error instanceof GatehouseError && (error.code === 'invalid_credentials' || error.code === 'login_throttled')) {
          // The attempted name (bounded) lets an operator see attacks on one account; never the password.
          audit(error.code === 'invalid_credentials' ? 'login_failed' : 'login_throttled', request, {
            method: 'local',
            username: username.slice(0, 64),
          });
          auditLockout(request, error, username.slice(0, 64));
        }
        throw error;
      }
      // Session fixation: whatever session the browser presented dies; the new one has a fresh id.
      const previous = await request.getSession();
      if (previous) await sessions.revoke(previous.id);
      const { token, record, evicted } = await sessions.create({
        user,
        provider: 'local',
        client: clientInfo(request),
      });
      setSessionCookie(request, reply, token, record);
      // A new device token on every success (OWASP), bound to the account as signed in.
      if (devices) reply.header('set-cookie', devices.issue(requestCookies(request), username));
      audit('login', request, { method: 'local', userId: user.id, sessionId: record.id, ...(evicted > 0 ? { evicted } : {}) });
      return sessionView(record, antiForgeryToken(keys, record.id));
    },
  );

  app.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/password',
    { bodyLimit: LOGIN_BODY_LIMIT, schema: { body: passwordBody } },
    async (request, reply) => {
      const session = await requireSession(request, reply, cookie);
      const username = session.user.username;
      if (!options.changePassword || session.provider !== 'local' || !username) {
        throw new GatehouseError('not_found', { message: 'This account has no local password.' });
      }
      try {
        await options.changePassword(username, request.body.currentPassword, request.body.newPassword, request.ip);
      } catch (error) {
        if (error instanceof GatehouseError) {
          audit('password_change_failed', request, { userId: session.userId, sessionId: session.id, reason: error.code });
          auditLockout(request, error, username.slice(0, 64));
        }
        throw error;
      }
      // OWASP Session Management: a password change ends every other session, and the current
      // one continues under a fresh id (whoever may have known the old id loses it too).
      // A store failure here (503) leaves the new password set and the cookie as it was: the user
      // retries with DELETE /auth/sessions (or logs out) to end the other sessions.
      const revoked = await retryable(sessions.revokeUser(session.userId));
      const { token, record } = await retryable(sessions.create({ user: session.user, provider: 'local', client: clientInfo(request) }));
      setSessionCookie(request, reply, token, record);
      audit('password_changed', request, { userId: session.userId, sessionId: record.id, revoked: revoked - 1 });
      return sessionView(record, antiForgeryToken(keys, record.id));
    },
  );

  app.post('/logout', async (request, reply) => {
    // The cookie is expired only once the store has ended the session. Expiring it first, during
    // a store outage (503), would leave a live session on the server that this browser could no
    // longer end: OWASP Session Management Cheat Sheet, "the session must be invalidated on the
    // server side" at logout. So a 503 keeps the cookie and says when to retry.
    const session = await retryable(request.getSession());
    if (!session) {
      clearSessionCookie(request, reply);
      return {};
    }
    // Cookie mode: the cookie does not carry provider tokens; read the stored session (with them)
    // before it is gone, for the provider step (id_token_hint, refresh-token revocation).
    const stored = sessions.mode === 'cookie' && options.providerLogout ? await retryable(sessions.findOwn(session.userId, session.id)) : null;
    await retryable(sessions.revoke(session.id));
    clearSessionCookie(request, reply);
    audit('logout', request, { userId: session.userId, sessionId: session.id });
    // The local session is over: whatever the provider step does now, the logout succeeded.
    try {
      const redirect = await options.providerLogout?.(stored ?? session);
      return redirect ? { redirect } : {};
    } catch (error) {
      request.log.warn({ err: error }, 'provider logout step failed');
      return {};
    }
  });

  app.get('/sessions', async (request, reply) => {
    const session = await requireSession(request, reply, cookie);
    const all = await sessions.list(session.userId);
    return { sessions: all.map((s) => deviceView(s, session.id)) };
  });

  app.delete<{ Params: { id: string } }>('/sessions/:id', { schema: { params: sessionIdParam } }, async (request, reply) => {
    const session = await retryable(requireSession(request, reply, cookie));
    // Only the caller's own sessions: someone else's id answers exactly like an unknown one.
    const target = await retryable(sessions.findOwn(session.userId, request.params.id));
    if (!target) throw new GatehouseError('session_not_found');
    // As for logout: the cookie is expired only after the store ended the session.
    await retryable(sessions.revoke(target.id));
    if (target.id === session.id) clearSessionCookie(request, reply);
    audit('session_revoked', request, { userId: session.userId, sessionId: session.id, revoked: target.id.slice(0, 12) });
    return { revoked: 1 };
  });

  app.delete('/sessions', async (request, reply) => {
    const session = await retryable(requireSession(request, reply, cookie));
    const revoked = await retryable(sessions.revokeUser(session.userId, session.id));
    audit('sessions_revoked', request, { userId: session.userId, sessionId: session.id, revoked });
    return { revoked };
  });
}

/**
 * Seconds a client should wait before retrying a revocation the store could not do. The Redis
 * and PostgreSQL backends reconnect in the background (a second or two after the store is back).
 */
const STORE_RETRY_AFTER_SECONDS = 2;

/**
 * The same `store_unavailable` (503), with `Retry-After` (RFC 9110 §10.2.3): a revocation that
 * failed is safe to repeat, and the browser SDK tells its caller when.
 */
async function retryable<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    if (!(error instanceof GatehouseError) || error.code !== 'store_unavailable' || error.headers['Retry-After']) throw error;
    throw new GatehouseError('store_unavailable', {
      cause: error.cause ?? error,
      headers: { ...error.headers, 'Retry-After': String(STORE_RETRY_AFTER_SECONDS) },
    });
  }
}

function clientInfo(request: FastifyRequest): SessionRecord['client'] {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, ...(ua ? { userAgent: ua.slice(0, 256) } : {}) };
}

/**
 * Aborts when the connection closes before the answer was sent (the client hung up): a queued
 * sign-in then costs no argon2 work (OWASP Denial of Service CS, see local/fair-queue.ts).
 */
function hangUpSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
