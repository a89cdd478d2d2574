/**
 * The session store contract. Every backend (memory, sqlite, later redis and postgres) implements
 * it and runs the one conformance suite in `test/stores/conformance.ts`.
 *
 * Records are keyed by {@link SessionRecord.id}, the SHA-256 of the cookie token: the store never
 * sees the token itself, so a leaked store cannot be replayed as cookies.
 */

/** The signed-in user as the session knows it. Safe to show to the browser. */
export interface SessionUser {
  /** Stable user id (local account id, or `provider:sub` for federated users). */
  id: string;
  username?: string;
  name?: string;
  email?: string;
  roles: string[];
}

export interface SessionRecord {
  /** base64url(SHA-256(token)). Also the public handle used by `DELETE /auth/sessions/:id`. */
  id: string;
  userId: string;
  user: SessionUser;
  /** `local` or the id of an OpenID provider. */
  provider: string;
  /** Epoch milliseconds. */
  createdAt: number;
  lastSeenAt: number;
  /** Sliding: moves forward on use, but never past {@link expiresAt}. */
  idleExpiresAt: number;
  /** Absolute: fixed at creation, never extended. */
  expiresAt: number;
  client: { ip?: string; userAgent?: string };
  /** Server-side only data (e.g. encrypted OIDC tokens in a later issue). Never sent to the browser. */
  data?: Record<string, unknown>;
}

export interface SessionStore {
  /** The live record, or null when it is unknown or expired (by the store's clock). */
  get(id: string): Promise<SessionRecord | null>;
  /** Insert or replace, unconditionally (a new session). A write-back to one that may have ended meanwhile is {@link update}. */
  set(record: SessionRecord): Promise<void>;
  /**
   * Replace the record of a session that still exists for the same user (`record.userId`) and is
   * live by the store's clock; false, writing nothing, when it is gone, expired or belongs to
   * another user. Atomic: a session deleted concurrently (logout, "sign out everywhere",
   * back-channel logout) is never brought back, nor re-indexed under its user.
   */
  update(record: SessionRecord): Promise<boolean>;
  /** Slide the idle expiry. A no-op for an unknown id. */
  touch(id: string, lastSeenAt: number, idleExpiresAt: number): Promise<void>;
  delete(id: string): Promise<void>;
  /** Delete every session of a user, except `exceptId` when given. Returns how many were deleted. */
  deleteByUser(userId: string, exceptId?: string): Promise<number>;
  /** The user's live sessions, newest first. */
  listByUser(userId: string): Promise<SessionRecord[]>;
  /** Resolves when the backend answers; rejects with StoreUnavailableError otherwise. For `/readyz`. */
  ping(): Promise<void>;
  /**
   * Optional: how many live sessions the store holds (by the store's clock), over every instance
   * sharing it. Read at metrics scrape time for `gatehouse_active_sessions`, so a backend offers
   * it only when it is cheap (an indexed count, a counter it keeps); without it the gauge is not
   * exposed. Not part of the conformance contract's required methods.
   */
  countLive?(): Promise<number>;
  close(): Promise<void>;
}

/** A record is live while the clock is before both expiries. */
export function isLive(record: SessionRecord, now: number): boolean {
  return now < record.idleExpiresAt && now < record.expiresAt;
}

/**
 * Session ids that must no longer be accepted although a cookie naming them may still decrypt
 * (`session.mode: "cookie"`): the cookie carries the whole session, so ending one is writing its
 * id here until the cookie's own absolute expiry. Checked on every request in cookie mode: one
 * small lookup in the deployment's store (memory, SQLite table, Redis key, PostgreSQL row).
 *
 * Never evicts a live entry to make room: a revocation that fell out of the list would bring the
 * session back. Every method of a networked backend rejects with `StoreUnavailableError` when the
 * backend cannot answer, so callers fail closed (503).
 */
export interface RevocationList {
  /**
   * Set only when the list does not outlive the process (the memory backend): a random id of this
   * list. Cookie-mode sessions carry it, so a restart, which forgets every revocation, also ends
   * every session issued before it, as the memory store does in server mode.
   */
  readonly epoch?: string;
  /** Refuse session `id` from now until `until` (epoch ms; the session's absolute expiry). Idempotent. */
  revoke(id: string, until: number): Promise<void>;
  /** True while `id` is revoked (by the list's clock). */
  isRevoked(id: string): Promise<boolean>;
  close(): Promise<void>;
}
