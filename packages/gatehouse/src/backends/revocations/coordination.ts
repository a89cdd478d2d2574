import { type Clock, systemClock } from '../../clock.js';
import { StoreUnavailableError } from '../../errors.js';
import type { RevocationList } from '../../session/model.js';
import type { Coordination } from '../coordination/types.js';
import { assertUntil } from './until.js';

/** Options for {@link createCoordinationRevocations}. */
export interface CoordinationRevocationsOptions {
  /** The backend's shared coordination (Redis or PostgreSQL). Borrowed: closing the list leaves it open. */
  coordination: Coordination;
  /** Turns `until` into a TTL and judges it on reads, as the coordination's own clock does. */
  clock?: Clock;
}

/** The coordination key of a revoked session id (the backend adds its own prefix). */
export const revokedKey = (id: string): string => `revoked:${id}`;

/**
 * Revoked session ids as coordination values (`revoked:<id>`, value `until`) with a TTL, so every
 * gateway instance on the same Redis or PostgreSQL sees a revocation at once, and the backend
 * forgets it when the cookie it guards has expired (Redis by its TTL, PostgreSQL by its purge).
 *
 * A read also compares the stored `until` with the clock, so expiry is exact by the gateway's
 * clock even where Redis's TTL (on Redis's clock, rounded up) would still hold the key. That can
 * only shorten a revocation to the cookie's own absolute expiry, past which no cookie is accepted.
 * Every method rejects with StoreUnavailableError when the backend cannot answer (fail closed).
 */
export function createCoordinationRevocations(options: CoordinationRevocationsOptions): RevocationList {
  const { coordination } = options;
  const clock = options.clock ?? systemClock;
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new StoreUnavailableError(new Error('revocation list is closed'));
  }

  return {
    async revoke(id, until) {
      assertOpen();
      assertUntil(until);
      const ttl = until - clock();
      // Already over: the cookie it guards has expired too, so nothing is written.
      if (ttl <= 0) return;
      // Keep the later expiry: a second revoke must never shorten the first. Not atomic with the
      // put, which is harmless: every revoke of one id names that session's one absolute expiry.
      const known = Number(await coordination.get(revokedKey(id)));
      if (known >= until) return;
      await coordination.put(revokedKey(id), String(until), ttl);
    },

    async isRevoked(id) {
      assertOpen();
      const value = await coordination.get(revokedKey(id));
      if (value === null) return false;
      const until = Number(value);
      // A value we did not write (not a number) counts as revoked: fail closed.
      return Number.isNaN(until) || until > clock();
    },

    async close() {
      // The coordination belongs to the backend, which closes it (and its connection) itself.
      closed = true;
    },
  };
}
