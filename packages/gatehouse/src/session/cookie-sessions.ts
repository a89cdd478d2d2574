import type { KeyRing } from '../keys/keyring.js';
import { decodeProtectedHeader } from 'jose';
import { seal, unseal } from '../keys/seal.js';
import { GatehouseError } from '../errors.js';
import { type CookiePayload, parsePayload, payloadOf, recordOf } from './cookie-payload.js';
import { type NewSession, SessionManager, type SessionManagerOptions } from './manager.js';
import { isLive, type RevocationList, type SessionRecord, type SessionUser } from './model.js';
import { generateSessionToken, sessionIdFromToken } from './token.js';

/**
 * What the deployment knows about a session's user now, asked every `revalidateEvery`: the current
 * claims and a version of the user's record (the "security stamp"), or null when the session must
 * end (account removed, password changed since the session began). Local accounts answer from the
 * account store; federated sessions from the stored session (refreshes and back-channel logout
 * write there).
 */
export type SessionRevalidator = (session: SessionRecord) => Promise<{ user: SessionUser; stamp?: string | undefined } | null>;

export interface CookieSessionOptions extends SessionManagerOptions {
  keys: KeyRing;
  revocations: RevocationList;
  /** ms between two checks of a session against the store and the user's account. */
  revalidateEvery: number;
  revalidate?: SessionRevalidator | undefined;
  /** True when a sealed value fits the cookie ceiling (SessionCookie.fits). */
  fits: (value: string) => boolean;
  /** Told when a session could not be written because it is too large (audit `session_cookie_too_large`). */
  onTooLarge?: ((session: SessionRecord, bytes: number) => void) | undefined;
}

/**
 * Cookie mode (`session.mode: "cookie"`): the cookie is the session, sealed as a JWE (`dir` +
 * A256GCM, HKDF subkey "session-cookie", `kid` of the ring key) and re-issued when it changes. A
 * request reads no session record: it opens the cookie and asks the revocation list one question.
 *
 * The store still keeps every session (the registry): "your devices" lists it, provider tokens
 * stay there by reference (never in the browser, and one refresh is visible to every instance),
 * and ending a session deletes it there and lists its id as revoked until the cookie's own
 * absolute expiry. Every `revalidateEvery` a request re-reads the registry and the user's
 * account: a session deleted there, a removed user or a changed password end at that check;
 * changed roles come back in a re-issued cookie.
 */
export class CookieSessionManager extends SessionManager {
  override readonly mode = 'cookie' as const;
  readonly revalidateEvery: number;
  private readonly keys: KeyRing;
  private readonly revocations: RevocationList;
  private readonly revalidate: SessionRevalidator | undefined;
  private readonly fits: (value: string) => boolean;
  private readonly onTooLarge: CookieSessionOptions['onTooLarge'];

  constructor(options: CookieSessionOptions) {
    super(options);
    this.keys = options.keys;
    this.revocations = options.revocations;
    this.revalidateEvery = options.revalidateEvery;
    this.revalidate = options.revalidate;
    this.fits = options.fits;
    this.onTooLarge = options.onTooLarge;
  }

  /**
   * A new session: its registry record stored, its cookie value sealed. Refused with
   * `session_too_large` before anything is stored when the sealed value exceeds the ceiling.
   */
  override async create(input: NewSession): Promise<{ token: string; record: SessionRecord; evicted: number }> {
    const now = this.clock();
    const expiresAt = now + this.absoluteTimeout;
    const record: SessionRecord = {
      // The id is random (not derived from the cookie, which changes): the public handle, and the
      // revocation list's key. Knowing it forges nothing: the cookie is sealed.
      id: sessionIdFromToken(generateSessionToken()),
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
    // Checked once the user is known to the store: a session whose claims do not fit never exists.
    const token = await this.seal(payloadOf(record, { checkedAt: now, epoch: this.revocations.epoch }));
    if (!this.fits(token)) {
      this.onTooLarge?.(record, token.length);
      throw new GatehouseError('session_too_large');
    }
    await this.store.set({ ...record, idleExpiresAt: this.registryIdleExpiry(now, expiresAt) });
    const evicted = await this.evictBeyondCap(record);
    return { token, record, evicted };
  }

  override async resolve(value: string | undefined): Promise<SessionRecord | null> {
    return (await this.resolveCookie(value))?.record ?? null;
  }

  override async resolveCookie(value: string | undefined): Promise<{ record: SessionRecord; reissue?: string } | null> {
    if (!value) return null;
    const payload = parsePayload(await unseal<unknown>(this.keys, 'session-cookie', value));
    if (!payload) return null;
    // Opened, so the protected header (part of the authenticated data) is the one it was sealed with.
    const kid = decodeProtectedHeader(value).kid;
    // A memory revocation list forgets on restart: cookies from before it are no sessions.
    if (payload.ep !== this.revocations.epoch) return null;
    const now = this.clock();
    let record = recordOf(payload);
    if (!isLive(record, now)) return null;
    if (await this.revocations.isRevoked(record.id)) return null;
    let changed = kid !== this.keys.current.kid;
    let next: CookiePayload = payload;
    if (now - payload.k >= this.revalidateEvery || now < payload.k) {
      const checked = await this.recheck(record, payload, now);
      if (!checked) return null;
      next = checked;
      changed = true;
    }
    if (now - next.s >= this.touchInterval) {
      // The absolute timeout is never extended: the idle expiry slides up to it and no further.
      next = { ...next, s: now, i: Math.min(now + this.idleTimeout, next.e) };
      changed = true;
    }
    if (!changed) return { record };
    record = recordOf(next);
    const reissue = await this.seal(next);
    // Claims grown past the ceiling since sign-in: keep the cookie the browser has (it is still
    // valid) rather than write one it would drop; the next sign-in is refused with the reason.
    if (!this.fits(reissue)) {
      this.onTooLarge?.(record, reissue.length);
      return { record };
    }
    return { record, reissue };
  }

  override async sealed(record: SessionRecord): Promise<string | undefined> {
    const value = await this.seal(payloadOf(record, { checkedAt: this.clock(), epoch: this.revocations.epoch }));
    return this.fits(value) ? value : undefined;
  }

  /** Revoked at once on every instance (the list), then removed from the registry. */
  override async revoke(id: string): Promise<void> {
    const stored = await this.store.get(id);
    await this.revocations.revoke(id, stored?.expiresAt ?? this.clock() + this.absoluteTimeout);
    await this.store.delete(id);
  }

  override async revokeUser(userId: string, exceptId?: string): Promise<number> {
    const ending = (await this.store.listByUser(userId)).filter((r) => r.id !== exceptId);
    for (const record of ending) await this.revocations.revoke(record.id, record.expiresAt);
    await this.store.deleteByUser(userId, exceptId);
    return ending.length;
  }

  protected override async end(record: SessionRecord): Promise<void> {
    await this.revocations.revoke(record.id, record.expiresAt);
    await this.store.delete(record.id);
  }

  /**
   * The periodic check: the session must still be in the registry, for the same user, and the
   * user's account must still accept it. The registry is slid too, or it would expire under an
   * active session whose idle expiry lives in the cookie.
   */
  private async recheck(record: SessionRecord, payload: CookiePayload, now: number): Promise<CookiePayload | null> {
    const stored = await this.store.get(record.id);
    if (!stored || stored.userId !== record.userId || !isLive(stored, now)) return null;
    const current = this.revalidate ? await this.revalidate(stored) : { user: stored.user, stamp: payload.st };
    if (!current) {
      await this.revoke(record.id);
      return null;
    }
    const idleExpiresAt = Math.min(now + this.idleTimeout, stored.expiresAt);
    const registryIdle = this.registryIdleExpiry(now, stored.expiresAt);
    if (JSON.stringify(current.user) !== JSON.stringify(stored.user)) {
      await this.store.update({ ...stored, user: current.user, lastSeenAt: now, idleExpiresAt: registryIdle });
    } else {
      await this.store.touch(stored.id, now, registryIdle);
    }
    const fresh = payloadOf({ ...stored, user: current.user, lastSeenAt: now, idleExpiresAt }, { checkedAt: now, epoch: payload.ep, stamp: current.stamp });
    return fresh;
  }

  /**
   * The stored session's idle expiry: the cookie enforces the exact idle timeout and slides on
   * every touch, the registry only at a revalidation, so it is kept one interval longer or it
   * would end an active session up to `revalidateEvery` early.
   */
  private registryIdleExpiry(now: number, expiresAt: number): number {
    return Math.min(now + this.idleTimeout + this.revalidateEvery, expiresAt);
  }

  private seal(payload: CookiePayload): Promise<string> {
    return seal(this.keys, 'session-cookie', payload);
  }
}
