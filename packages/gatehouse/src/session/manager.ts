import type { Clock } from '../clock.js';
import { isLive, type SessionRecord, type SessionStore, type SessionUser } from './model.js';
import { generateSessionToken, isWellFormedToken, sessionIdFromToken } from './token.js';

export interface SessionManagerOptions {
  store: SessionStore;
  clock: Clock;
  /** Sliding idle timeout in ms. */
  idleTimeout: number;
  /** Absolute lifetime in ms, fixed at creation. */
  absoluteTimeout: number;
  /**
   * Minimum ms between two writes that slide the idle expiry. Writing on every request would
   * make every read a write; sliding at most this often costs at most this much idle time.
   * Default: a tenth of the idle timeout, capped at 60 s.
   */
  touchInterval?: number;
  /**
   * Most live sessions one user may hold; creating one more ends their oldest. Without a cap,
   * unthrottled successful sign-ins grow a user's sessions without bound, and listing or revoking
   * them costs that much on every backend. Default 50 (config `session.maxPerUser`).
   */
  maxPerUser?: number;
}

/** Sessions ended at once when a sign-in puts a user over the cap. */
const EVICT_BATCH = 20;

export interface NewSession {
  user: SessionUser;
  provider: string;
  client: SessionRecord['client'];
  data?: Record<string, unknown>;
}

/**
 * The session core: create, resolve, revoke. Framework-free; the Fastify layer only moves
 * tokens between cookies and these calls. An invalid session is a null result, not an exception;
 * only a store failure throws (StoreUnavailableError, which the HTTP layer answers with 503).
 */
export class SessionManager {
  readonly idleTimeout: number;
  readonly absoluteTimeout: number;
  readonly maxPerUser: number;
  /** "server": the cookie is a random token naming a stored record. CookieSessionManager says "cookie". */
  readonly mode: 'server' | 'cookie' = 'server';
  protected readonly store: SessionStore;
  protected readonly clock: Clock;
  protected readonly touchInterval: number;

  constructor(options: SessionManagerOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.idleTimeout = options.idleTimeout;
    this.absoluteTimeout = options.absoluteTimeout;
    this.touchInterval = options.touchInterval ?? Math.min(60_000, Math.floor(options.idleTimeout / 10));
    this.maxPerUser = options.maxPerUser ?? 50;
  }

  /**
   * A brand-new session with a fresh random token. Callers that replace an existing session
   * (login while signed in) must revoke the old one: ids are never reused or carried over,
   * which is what defeats session fixation.
   *
   * The user's oldest sessions beyond {@link maxPerUser} end once the new one is stored; the new
   * one never does.
   */
  async create(input: NewSession): Promise<{ token: string; record: SessionRecord; evicted: number }> {
    const now = this.clock();
    const token = generateSessionToken();
    const expiresAt = now + this.absoluteTimeout;
    const record: SessionRecord = {
      id: sessionIdFromToken(token),
      userId: input.user.id,
      user: input.user,
      provider: input.provider,
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: Math.min(now + this.idleTimeout, expiresAt),
      expiresAt,
      client: input.client,
      ...(input.data ? { data: input.data } : {}),
    };
    await this.store.set(record);
    const evicted = await this.evictBeyondCap(record);
    return { token, record, evicted };
  }

  /**
   * Ends the user's oldest live sessions so that at most {@link maxPerUser} remain, `kept` among
   * them. Sessions created after `kept` (a concurrent sign-in, which evicts on its own) are spared,
   * so two sign-ins racing under a cap of 1 cannot end each other.
   */
  protected async evictBeyondCap(kept: SessionRecord): Promise<number> {
    const others = (await this.store.listByUser(kept.userId)).filter((r) => r.id !== kept.id);
    // Newest first: everything past the first maxPerUser − 1 others is the oldest.
    const excess = others.slice(this.maxPerUser - 1).filter((r) => r.createdAt <= kept.createdAt);
    // A few at a time: a user over the cap by thousands (sessions from before it existed) must not
    // flood a shared store connection.
    for (let at = 0; at < excess.length; at += EVICT_BATCH) {
      await Promise.all(excess.slice(at, at + EVICT_BATCH).map((r) => this.end(r)));
    }
    return excess.length;
  }

  /** Ends one stored session (cap eviction). Cookie mode also puts it on the revocation list. */
  protected async end(record: SessionRecord): Promise<void> {
    await this.store.delete(record.id);
  }

  /**
   * The live session for the session cookie's value, and in cookie mode the new value to send
   * back when it changed (idle expiry slid, claims re-checked, sealed under a newer key). Server
   * mode never re-issues: the token stays, the store slides.
   */
  async resolveCookie(value: string | undefined): Promise<{ record: SessionRecord; reissue?: string } | null> {
    const record = await this.resolve(value);
    return record ? { record } : null;
  }

  /** Cookie mode: the cookie value for a changed session (new provider-token expiry after a refresh). Server mode: undefined, the store has it. */
  async sealed(_record: SessionRecord): Promise<string | undefined> {
    return undefined;
  }

  /** The live session for a cookie token, sliding its idle expiry; null when absent, malformed, unknown or expired. */
  async resolve(token: string | undefined): Promise<SessionRecord | null> {
    if (!token || !isWellFormedToken(token)) return null;
    const record = await this.store.get(sessionIdFromToken(token));
    const now = this.clock();
    if (!record || !isLive(record, now)) return null;
    if (now - record.lastSeenAt >= this.touchInterval) {
      // The absolute timeout is never extended: the idle expiry slides up to it and no further.
      const idleExpiresAt = Math.min(now + this.idleTimeout, record.expiresAt);
      await this.store.touch(record.id, now, idleExpiresAt);
      // Records from a store may be frozen: describe the new state with a new object.
      return { ...record, lastSeenAt: now, idleExpiresAt };
    }
    return record;
  }

  /** Seconds until the session's absolute expiry, for the cookie's Max-Age. */
  remainingSeconds(record: SessionRecord): number {
    return Math.max(0, Math.floor((record.expiresAt - this.clock()) / 1000));
  }

  /**
   * Stores a changed record under the same id (new tokens after a refresh). Timeouts are not touched.
   * False, writing nothing, when the session has ended meanwhile (signed out, revoked, expired):
   * a write-back never brings a session back.
   */
  async replace(record: SessionRecord): Promise<boolean> {
    return this.store.update(record);
  }

  async revoke(id: string): Promise<void> {
    await this.store.delete(id);
  }

  /** Ends every session of the user except `exceptId`. Returns how many ended. */
  async revokeUser(userId: string, exceptId?: string): Promise<number> {
    return this.store.deleteByUser(userId, exceptId);
  }

  async list(userId: string): Promise<SessionRecord[]> {
    return this.store.listByUser(userId);
  }

  /** The user's session with this public id, or null when it is not theirs (or gone). */
  async findOwn(userId: string, id: string): Promise<SessionRecord | null> {
    const record = await this.store.get(id);
    return record && record.userId === userId && isLive(record, this.clock()) ? record : null;
  }
}
