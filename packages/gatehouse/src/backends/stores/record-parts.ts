import type { SessionRecord } from '../../session/model.js';

/**
 * How the SQL and Redis stores keep a record: the id, owner and timestamps in columns (fields) of
 * their own — what queries, expiry and `touch` work on — and the rest as one JSON document.
 */

/** The part of a record stored as JSON. */
export type RecordRest = Pick<SessionRecord, 'user' | 'provider' | 'client' | 'data'>;

/** The columns of a record: everything but {@link RecordRest}. */
export type RecordColumns = Omit<SessionRecord, keyof RecordRest>;

/** The JSON part of a record. */
export function restOf(record: SessionRecord): RecordRest {
  return { user: record.user, provider: record.provider, client: record.client, data: record.data };
}

/** A record from its columns and its JSON part (`data` only when there is some). */
export function assembleRecord(columns: RecordColumns, rest: RecordRest): SessionRecord {
  const record: SessionRecord = {
    id: columns.id,
    userId: columns.userId,
    user: rest.user,
    provider: rest.provider,
    createdAt: columns.createdAt,
    lastSeenAt: columns.lastSeenAt,
    idleExpiresAt: columns.idleExpiresAt,
    expiresAt: columns.expiresAt,
    client: rest.client,
  };
  if (rest.data !== undefined) record.data = rest.data;
  return record;
}
