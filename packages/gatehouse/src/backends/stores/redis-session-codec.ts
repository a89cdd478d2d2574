// How a session record is written to and read from its Redis hash (fields as in
// redis-session-keys.ts): the owner and timestamps in fields of their own, the rest as JSON in `r`.
import type { SessionRecord, SessionUser } from '../../session/model.js';
import { assembleRecord, type RecordRest, restOf } from './record-parts.js';

/** The hash's fields, in the order {@link decode} reads them (HMGET). */
export const FIELDS = ['u', 'c', 'l', 'i', 'e', 'r'] as const;

/** The columns that are not kept in their own field, stored as JSON in `r`. */
type Rest = RecordRest;

/** The JSON of `r`: the part of a record without a field of its own. */
export function encodeRest(record: SessionRecord): string {
  return JSON.stringify(restOf(record));
}

/** Field-value pairs for HSET: every field of {@link FIELDS}. */
export function encodeFields(record: SessionRecord): string[] {
  return ['u', record.userId, 'c', String(record.createdAt), 'l', String(record.lastSeenAt), 'i', String(record.idleExpiresAt), 'e', String(record.expiresAt), 'r', encodeRest(record)];
}

/** A record from HMGET's answer, or null when any field is missing or not what we write. */
export function decode(id: string, fields: unknown): SessionRecord | null {
  if (!Array.isArray(fields) || fields.length !== FIELDS.length) return null;
  const [userId, c, l, i, e, json] = fields as unknown[];
  const times = [c, l, i, e].map(toTime);
  if (typeof userId !== 'string' || typeof json !== 'string' || times.some((t) => t === null)) return null;
  const rest = parseRest(json);
  if (!rest) return null;
  const [createdAt, lastSeenAt, idleExpiresAt, expiresAt] = times as [number, number, number, number];
  return assembleRecord({ id, userId, createdAt, lastSeenAt, idleExpiresAt, expiresAt }, rest);
}

function toTime(value: unknown): number | null {
  if (typeof value !== 'string' || !/^-?\d{1,16}(\.\d+)?$/.test(value)) return null;
  return Number(value);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The JSON part, checked field by field: a value someone else wrote must not pass as a session. */
function parseRest(json: string): Rest | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (!isObject(value) || typeof value.provider !== 'string' || !isObject(value.client)) return null;
  const user = value.user;
  if (!isObject(user) || typeof user.id !== 'string') return null;
  if (!Array.isArray(user.roles) || !user.roles.every((role) => typeof role === 'string')) return null;
  for (const key of ['username', 'name', 'email'] as const) {
    if (user[key] !== undefined && typeof user[key] !== 'string') return null;
  }
  if (value.data !== undefined && !isObject(value.data)) return null;
  return {
    user: user as unknown as SessionUser,
    provider: value.provider,
    client: value.client as Rest['client'],
    ...(value.data !== undefined ? { data: value.data } : {}),
  };
}
