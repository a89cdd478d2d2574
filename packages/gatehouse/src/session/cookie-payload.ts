import type { SessionRecord, SessionUser } from './model.js';

/**
 * What the cookie-mode cookie carries, sealed (cookie-sessions.ts). Short keys: every byte is sent
 * on every request, and a session over 4096 bytes is split across cookies.
 *
 * Provider tokens are not in it: they stay in the stored session (by reference), so the cookie
 * stays one chunk for typical claims and a refresh is seen by every instance at once (a rotating
 * refresh token used twice, by two instances holding the old cookie, would end the session).
 * Only their non-secret description (`data.oidc` without `tokens`: provider, issuer, subject,
 * provider session id, access-token expiry) travels, so deciding about a refresh reads nothing.
 */
export interface CookiePayload {
  /** Format version. */
  v: 1;
  /** Session id: the registry's key and the revocation list's. */
  id: string;
  user: SessionUser;
  /** Provider: `local` or an OpenID provider's id. */
  p: string;
  /** createdAt, lastSeenAt (s), idleExpiresAt (i), expiresAt (e), last revalidation (k): epoch ms. */
  c: number;
  s: number;
  i: number;
  e: number;
  k: number;
  /** The user's security stamp at the last revalidation (local accounts: the record's version). */
  st?: string | undefined;
  /** The revocation list's epoch when it has one (memory backend). */
  ep?: string | undefined;
  /** `data.oidc` without its tokens. */
  o?: Record<string, unknown> | undefined;
}

/** The cookie payload of a session (tokens left out). */
export function payloadOf(
  record: SessionRecord,
  extra: { checkedAt: number; epoch?: string | undefined; stamp?: string | undefined },
): CookiePayload {
  const oidc = record.data?.oidc;
  let o: Record<string, unknown> | undefined;
  if (oidc && typeof oidc === 'object') {
    const { tokens: _byReference, ...description } = oidc as Record<string, unknown>;
    o = description;
  }
  return {
    v: 1,
    id: record.id,
    user: record.user,
    p: record.provider,
    c: record.createdAt,
    s: record.lastSeenAt,
    i: record.idleExpiresAt,
    e: record.expiresAt,
    k: extra.checkedAt,
    ...(extra.stamp !== undefined ? { st: extra.stamp } : {}),
    ...(extra.epoch !== undefined ? { ep: extra.epoch } : {}),
    ...(o ? { o } : {}),
  };
}

/** The session a payload describes. `client` is the registry's (not carried); `data.oidc` has no tokens. */
export function recordOf(payload: CookiePayload): SessionRecord {
  return {
    id: payload.id,
    userId: payload.user.id,
    user: payload.user,
    provider: payload.p,
    createdAt: payload.c,
    lastSeenAt: payload.s,
    idleExpiresAt: payload.i,
    expiresAt: payload.e,
    client: {},
    ...(payload.o ? { data: { oidc: payload.o } } : {}),
  };
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The payload, or null unless it has exactly the expected shape. It opened under our key, so it is
 * ours; the check guards against a payload from an older format or a bug, never trusts one blindly.
 */
export function parsePayload(value: unknown): CookiePayload | null {
  if (!value || typeof value !== 'object') return null;
  const p = value as Record<string, unknown>;
  const user = p.user as Record<string, unknown> | undefined;
  if (p.v !== 1 || !isString(p.id) || !isString(p.p) || !user || typeof user !== 'object') return null;
  if (!isString(user.id) || !Array.isArray(user.roles) || !user.roles.every(isString)) return null;
  if (![p.c, p.s, p.i, p.e, p.k].every(isTime)) return null;
  if ((p.st !== undefined && !isString(p.st)) || (p.ep !== undefined && !isString(p.ep))) return null;
  if (p.o !== undefined && (p.o === null || typeof p.o !== 'object' || Array.isArray(p.o))) return null;
  return p as unknown as CookiePayload;
}
