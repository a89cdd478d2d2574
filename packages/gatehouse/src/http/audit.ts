import type { FastifyBaseLogger, FastifyRequest } from 'fastify';

/** Stable names of security events in the audit log. */
export type AuditEvent =
  | 'login'
  | 'login_failed'
  | 'login_throttled'
  | 'logout'
  | 'backchannel_logout'
  | 'token_refresh'
  | 'password_changed'
  | 'password_change_failed'
  | 'session_revoked'
  | 'sessions_revoked'
  | 'csrf_rejected'
  | 'cross_site_rejected';

export type Audit = (event: AuditEvent, request: FastifyRequest, fields?: Record<string, unknown>) => void;

/**
 * Security events as structured pino JSON: a stable event name, the user, a short prefix of the
 * session id (itself a hash of the cookie, so the log can never be replayed as a cookie) and the
 * client address. Never a password, token or cookie.
 */
export function createAudit(logger: FastifyBaseLogger): Audit {
  const log = logger.child({ audit: true });
  return (event, request, fields = {}) => {
    const sessionId = typeof fields.sessionId === 'string' ? fields.sessionId.slice(0, 12) : undefined;
    log.info({ ...fields, event, sessionId, ip: request.ip, reqId: request.id }, event);
  };
}
