import type { JSONWebKeySet } from 'jose';
import type { Clock } from '../clock.js';

/** A cached key set is refetched when older than this (a removed key stops verifying within it). */
export const JWKS_MAX_AGE_MS = 5 * 60_000;
/**
 * At most one refetch for an unknown `kid` per this many ms. Anyone can post a logout token
 * naming a made-up `kid`; without a bound each one would cost a request to the provider.
 */
export const JWKS_UNKNOWN_KID_COOLDOWN_MS = 10_000;

/**
 * After a failed download, callers get that failure again for this many ms instead of a new
 * request. Without it, a provider whose JWKS endpoint is down (or answers garbage) is asked once
 * per unauthenticated back-channel logout post or login, back to back (single-flight bounds only
 * concurrency): 30 posts made 30 requests. The same bound as an unknown-kid refetch.
 */
export const JWKS_FAILURE_COOLDOWN_MS = JWKS_UNKNOWN_KID_COOLDOWN_MS;

interface Entry {
  jwks: JSONWebKeySet;
  fetchedAt: number;
}

/**
 * One provider's JWKS (RFC 7517), shared by ID token (openid-client) and logout token (jose)
 * verification. The key selection and the signature check stay with those libraries; this only
 * decides when to download the set:
 * - when there is none yet, or it is older than {@link JWKS_MAX_AGE_MS};
 * - at once when a token names a `kid` the set does not have (key rotation, OIDC Core §10.1.1),
 *   unless another unknown-`kid` refetch happened within {@link JWKS_UNKNOWN_KID_COOLDOWN_MS}.
 *   Only unknown-`kid` refetches start the cooldown: a rotated key is accepted on its first use,
 *   however recently the set was fetched for another reason.
 * Every download is single-flight: concurrent callers wait for the same request. A failed one is
 * not retried for {@link JWKS_FAILURE_COOLDOWN_MS}: callers get its error (fail closed, never an
 * older set), so no caller can turn a provider outage into a stream of requests.
 */
export class JwksCache {
  private entry: Entry | undefined;
  private pending: Promise<Entry> | undefined;
  private lastUnknownKidRefetch: number | undefined;
  private lastFailure: { at: number; error: unknown } | undefined;

  constructor(
    private readonly download: () => Promise<JSONWebKeySet>,
    private readonly clock: Clock,
  ) {}

  /** The key set to verify a token whose header names `kid` (undefined: no `kid`). */
  async get(kid: string | undefined): Promise<JSONWebKeySet> {
    const cached = this.entry;
    if (!cached || this.clock() - cached.fetchedAt >= JWKS_MAX_AGE_MS) {
      // Just downloaded: as fresh as it gets, so an unknown kid is not worth a second request.
      return (await this.refresh()).jwks;
    }
    const entry = cached;
    if (kid === undefined || hasKid(entry.jwks, kid)) return entry.jwks;
    // A download already under way may bring the key: wait for it rather than start another.
    if (this.pending) return (await this.pending).jwks;
    const now = this.clock();
    if (this.lastUnknownKidRefetch !== undefined && now - this.lastUnknownKidRefetch < JWKS_UNKNOWN_KID_COOLDOWN_MS) {
      // Rate-limited: the verifier finds no key for this kid and refuses the token.
      return entry.jwks;
    }
    this.lastUnknownKidRefetch = now;
    return (await this.refresh()).jwks;
  }

  private refresh(): Promise<Entry> {
    if (this.pending) return this.pending;
    const failed = this.lastFailure;
    if (failed && this.clock() - failed.at < JWKS_FAILURE_COOLDOWN_MS) return Promise.reject(failed.error);
    this.pending = this.download()
      .then(
        (jwks) => {
          this.lastFailure = undefined;
          this.entry = { jwks, fetchedAt: this.clock() };
          return this.entry;
        },
        (error: unknown) => {
          this.lastFailure = { at: this.clock(), error };
          throw error;
        },
      )
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}

function hasKid(jwks: JSONWebKeySet, kid: string): boolean {
  return jwks.keys.some((key) => key.kid === kid);
}
