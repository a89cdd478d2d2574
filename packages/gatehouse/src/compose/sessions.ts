import type { Clock } from '../clock.js';
import type { GatehouseConfig } from '../config/schema.js';
import { SessionCookie } from '../cookies/session-cookie.js';
import type { AuditFields } from '../http/audit.js';
import type { KeyRing } from '../keys/keyring.js';
import type { LocalAccounts } from '../local/service.js';
import { CookieSessionManager, type SessionRevalidator } from '../session/cookie-sessions.js';
import { SessionManager } from '../session/manager.js';
import type { RevocationList, SessionStore } from '../session/model.js';

/** What the session core reports with no request at hand. */
export interface SessionEvents {
  onTooLarge: (fields: AuditFields['session_cookie_too_large']) => void;
}

/**
 * The session manager and its cookie for `session.mode`: "server" (a token naming a stored
 * record) or "cookie" (the sealed session itself, with the store as registry and revocation list).
 */
export function createSessions(
  config: GatehouseConfig,
  parts: SessionEvents & {
    store: SessionStore;
    revocations: RevocationList;
    clock: Clock;
    keys: KeyRing;
    local: LocalAccounts | undefined;
  },
): { sessions: SessionManager; cookie: SessionCookie } {
  const c = config.session.cookie;
  const cookieMode = config.session.mode === 'cookie';
  const cookie = new SessionCookie(
    {
      name: c.name,
      sameSite: c.sameSite,
      secure: c.secure,
      httpOnly: c.httpOnly,
      path: c.path,
      domain: c.domain,
      maxAgeSeconds: c.persistent ? Math.floor(config.session.absoluteTimeout / 1000) : undefined,
    },
    { maxBytes: cookieMode ? c.maxBytes : undefined },
  );
  const options = {
    store: parts.store,
    clock: parts.clock,
    idleTimeout: config.session.idleTimeout,
    absoluteTimeout: config.session.absoluteTimeout,
    maxPerUser: config.session.maxPerUser,
  };
  if (!cookieMode) return { sessions: new SessionManager(options), cookie };
  const { local } = parts;
  const revalidate: SessionRevalidator = (session) =>
    session.provider === 'local' && local ? local.revalidate(session) : storedUser(session);
  const sessions = new CookieSessionManager({
    ...options,
    keys: parts.keys,
    revocations: parts.revocations,
    revalidateEvery: config.session.revalidateEvery,
    revalidate,
    fits: (value) => cookie.fits(value),
    onTooLarge: (session, bytes) => parts.onTooLarge({ userId: session.userId, provider: session.provider, bytes }),
  });
  return { sessions, cookie };
}

/** A federated session's user is what the stored session says (sign-in and refresh write there). */
const storedUser: SessionRevalidator = async (session) => ({ user: session.user });
