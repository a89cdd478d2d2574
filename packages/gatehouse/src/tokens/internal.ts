import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Clock } from '../clock.js';
import type { SessionRecord } from '../session/model.js';
import { ExpiringCache } from './cache.js';
import type { SigningKeyRing } from './signing-keys.js';

/** `client_id` of internal tokens (RFC 9068 §2.2): Gatehouse itself. */
export const INTERNAL_CLIENT_ID = 'gatehouse';

export interface InternalTokenOptions {
  keys: SigningKeyRing;
  /** `iss`: the gateway's public origin. */
  issuer: string;
  /** exp - iat, in ms. */
  lifetimeMs: number;
  clock: Clock;
  /** Most cached tokens (one per session and audience). Default 10,000. */
  maxCached?: number;
}

/**
 * Signs the short-lived JWT access tokens Gatehouse attaches for `token: "internal"` routes, in
 * the JWT profile for OAuth 2.0 access tokens (RFC 9068): header `typ: "at+jwt"` (§2.1), claims
 * `iss`, `sub`, `aud`, `exp`, `iat`, `jti`, `client_id` (§2.2), `auth_time` (§2.2.1), the user's
 * `roles` (§2.2.3.1) and profile claims (`name`, `preferred_username`, `email`, OIDC Core §5.1).
 *
 * One token per session and audience, reused until a quarter of its lifetime is left (never
 * less than 10 s), so a busy session costs one signature per few minutes, not one per request.
 * @see https://www.rfc-editor.org/rfc/rfc9068
 */
export class InternalTokenIssuer {
  private readonly cache: ExpiringCache<string>;
  private readonly renewBeforeMs: number;

  constructor(private readonly options: InternalTokenOptions) {
    this.cache = new ExpiringCache(options.maxCached ?? 10_000);
    this.renewBeforeMs = Math.max(10_000, Math.floor(options.lifetimeMs / 4));
  }

  /** A token for the session's user, for `audience`: from the cache, or freshly signed. */
  async token(session: SessionRecord, audience: string): Promise<string> {
    const now = this.options.clock();
    // The key binds the user too: a session record never changes user, but the cache must not be the one place that assumes so.
    const key = `${session.id}\n${session.userId}\n${audience}`;
    const cached = this.cache.get(key, now);
    if (cached) return cached;
    const { token, expiresAt } = await this.sign(session, audience, now);
    this.cache.set(key, token, expiresAt - this.renewBeforeMs);
    return token;
  }

  /** Signs a new token (no cache). `expiresAt` in epoch ms. */
  async sign(session: SessionRecord, audience: string, now = this.options.clock()): Promise<{ token: string; expiresAt: number }> {
    const key = this.options.keys.current;
    const iat = Math.floor(now / 1000);
    const exp = iat + Math.floor(this.options.lifetimeMs / 1000);
    const user = session.user;
    const claims: Record<string, unknown> = {
      client_id: INTERNAL_CLIENT_ID,
      auth_time: Math.floor(session.createdAt / 1000),
      roles: user.roles,
      ...(user.username !== undefined ? { preferred_username: user.username } : {}),
      ...(user.name !== undefined ? { name: user.name } : {}),
      ...(user.email !== undefined ? { email: user.email } : {}),
    };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
      .setIssuer(this.options.issuer)
      .setSubject(user.id)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(key.privateKey);
    return { token, expiresAt: exp * 1000 };
  }
}
