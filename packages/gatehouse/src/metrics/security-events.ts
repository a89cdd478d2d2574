import type { AuditRecord } from '../http/audit.js';
import type { Metrics } from './metrics.js';

/**
 * Counts sign-ins, CSRF refusals, token refreshes and session lifecycle from the audit log's events: the same
 * event feeds both, so a dashboard and the audit log never disagree about what happened. Give
 * it to `createAudit` as its observer.
 */
export function auditMetrics(metrics: Metrics): ((record: AuditRecord) => void) | undefined {
  if (!metrics.enabled) return undefined;
  return (record) => {
    switch (record.event) {
      case 'login':
        metrics.login(loginMethod(record), 'ok');
        metrics.sessionsCreated(1);
        return;
      case 'login_failed':
        metrics.login(loginMethod(record), 'failed');
        return;
      case 'login_throttled':
        metrics.login('local', 'throttled');
        return;
      case 'logout':
        metrics.sessionsEnded('logout', 1);
        return;
      case 'session_revoked':
        metrics.sessionsEnded('revoked', 1);
        return;
      case 'sessions_revoked':
        metrics.sessionsEnded('revoked', record.revoked);
        return;
      case 'password_changed':
        // Every session of the user ends, the current one included; it continues under a new one.
        metrics.sessionsEnded('password_changed', record.revoked + 1);
        metrics.sessionsCreated(1);
        return;
      case 'backchannel_logout':
        metrics.sessionsEnded('backchannel', record.ended);
        return;
      case 'csrf_rejected':
        metrics.csrfRefusal(record.reason);
        return;
      case 'cross_site_rejected':
        metrics.csrfRefusal('cross_site_resource');
        return;
      case 'token_refresh':
        metrics.tokenRefresh(record.outcome);
        // The provider refused the refresh: the refresher has ended the session.
        if (record.outcome === 'ended') metrics.sessionsEnded('refresh_refused', 1);
        return;
      default:
        // lockout, password_change_failed: logged, and counted elsewhere or not at all.
        return;
    }
  };
}

function loginMethod(record: { method: 'local' | 'oidc'; provider?: string }): string {
  return record.method === 'oidc' ? (record.provider ?? 'oidc') : 'local';
}
