import type { FastifyBaseLogger, FastifyRequest } from 'fastify';

/** What a lockout locked: the username, the client address, or one browser's device cookie. */
export type LockedKey = 'account' | 'address' | 'device';

/**
 * The fields of each security event, besides the ones every event gets (`event`, `ip`, `reqId`).
 * `sessionId` is always cut to its first 12 characters before it is logged; `username` is the
 * attempted name, cut to 64. Nothing here is ever a password, token or cookie value.
 * `docs/security.md` ("Audit log") lists the same, for operators.
 */
export interface AuditFields {
  /** `evicted`: the user's oldest sessions this sign-in ended (`session.maxPerUser`), when any. */
  login: { method: 'local' | 'oidc'; provider?: string; userId: string; sessionId: string; evicted?: number };
  /** A wrong password or unknown user (local), or a provider answer that did not verify (oidc). */
  login_failed: { method: 'local' | 'oidc'; provider?: string; username?: string; error?: string; reason?: string };
  /** A sign-in refused because the username or the client address is locked. */
  login_throttled: { method: 'local'; username: string };
  /** A failed sign-in that has just locked the username and/or the client address. */
  lockout: { method: 'local'; username: string; locked: LockedKey[] };
  logout: { userId: string; sessionId: string };
  /** A provider's back-channel logout; `ended` sessions. */
  backchannel_logout: { provider: string; ended: number };
  /** `revoked`: the user's other sessions ended; `sessionId` is the fresh session. */
  password_changed: { userId: string; sessionId: string; revoked: number };
  password_change_failed: { userId: string; sessionId: string; reason: string };
  /** `revoked`: the ended session's id prefix. */
  session_revoked: { userId: string; sessionId: string; revoked: string };
  /** `revoked`: how many other sessions ended. */
  sessions_revoked: { userId: string; sessionId: string; revoked: number };
  /** `reason`: the CSRF check that failed (`cross_site_fetch`, `origin_mismatch`, `missing_header`, `bad_token`). */
  csrf_rejected: { reason: string };
  /** A cookie-authenticated resource requested by another site (Fetch Metadata). */
  cross_site_rejected: Record<string, never>;
  /** Logged by the token refresher, outside any one request: no `ip`/`reqId`. */
  token_refresh: { outcome: 'refreshed' | 'ended' | 'failed'; userId: string; sessionId: string };
  /** Cookie mode: a session whose sealed cookie would exceed `session.cookie.maxBytes` (`bytes`): refused at sign-in, kept un-reissued later. */
  session_cookie_too_large: { userId: string; provider: string; bytes: number };
}

/** Stable names of security events in the audit log. */
export type AuditEvent = keyof AuditFields;

/** One event with its fields, as observers see it (before the session id is shortened). */
export type AuditRecord = { [E in AuditEvent]: { event: E } & AuditFields[E] }[AuditEvent];

/** Events logged outside any one request (the token refresher's): no `ip`/`reqId`. */
export type BackgroundAuditEvent = 'token_refresh' | 'session_cookie_too_large';

/**
 * Logs a security event seen while answering `request`; {@link Audit.background} logs one seen
 * outside any request.
 */
export interface Audit {
  <E extends Exclude<AuditEvent, BackgroundAuditEvent>>(
    event: E,
    request: FastifyRequest,
    ...fields: Record<string, never> extends AuditFields[E] ? [fields?: AuditFields[E]] : [fields: AuditFields[E]]
  ): void;
  background<E extends BackgroundAuditEvent>(event: E, fields: AuditFields[E]): void;
}

/**
 * Security events as structured pino JSON: a stable event name, the user, a short prefix of the
 * session id (itself a hash of the cookie, so the log can never be replayed as a cookie) and the
 * client address. Never a password, token or cookie.
 *
 * @param observe also told of every event (metrics count sign-ins and sessions from here, so the
 *   counters and the log cannot disagree).
 */
export function createAudit(logger: FastifyBaseLogger, observe?: (record: AuditRecord) => void): Audit {
  const log = logger.child({ audit: true });
  const write = (event: AuditEvent, fields: Record<string, unknown>, request?: FastifyRequest) => {
    const sessionId = typeof fields.sessionId === 'string' ? fields.sessionId.slice(0, 12) : undefined;
    log.info({ ...fields, event, sessionId, ip: request?.ip, reqId: request?.id }, event);
    observe?.({ ...fields, event } as AuditRecord);
  };
  const audit: Audit = Object.assign(
    ((event, request, ...rest) => write(event, rest[0] ?? {}, request)) as Audit,
    { background: (event: BackgroundAuditEvent, fields: AuditFields[BackgroundAuditEvent]) => write(event, fields) },
  );
  return audit;
}
