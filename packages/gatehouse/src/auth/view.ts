import type { SessionRecord } from '../session/model.js';

/** What the browser learns about its session: never the token, never server-side data. */
export function sessionView(record: SessionRecord, csrfToken: string) {
  return {
    user: record.user,
    session: {
      id: record.id,
      createdAt: new Date(record.createdAt).toISOString(),
      expiresAt: new Date(record.expiresAt).toISOString(),
      idleExpiresAt: new Date(record.idleExpiresAt).toISOString(),
    },
    provider: record.provider,
    csrfToken,
  };
}

/** One row of "your devices". */
export function deviceView(record: SessionRecord, currentId: string) {
  return {
    id: record.id,
    current: record.id === currentId,
    provider: record.provider,
    createdAt: new Date(record.createdAt).toISOString(),
    lastSeenAt: new Date(record.lastSeenAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
    ip: record.client.ip ?? null,
    userAgent: record.client.userAgent ?? null,
  };
}
