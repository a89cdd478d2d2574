/*
 * Key layout, under the configured prefix `p`:
 *
 * - `p s:<id>`: a hash, one per session: u (userId), c (createdAt), l (lastSeenAt),
 *   i (idleExpiresAt), e (expiresAt), r (JSON of user, provider, client, data). The timestamps
 *   are fields of their own so `touch` can slide them in Lua without re-encoding the JSON (Lua's
 *   cjson would turn [] into {} and round long numbers). Its TTL is min(i, e) − now: Redis drops
 *   a session at whichever timeout comes first, and `touch` moves the TTL with `i`.
 * - `p u:<userId>`: a sorted set of the user's session ids, scored by their absolute expiry.
 *   Its TTL is the latest of those expiries, which no `touch` can pass, so the index outlives
 *   every session it lists.
 *
 * The invariant that matters for security: every live session is in its user's index, so
 * "sign out everywhere" (deleteByUser) reaches it. Readers never trust the index alone: each entry
 * is checked against its record (present, same owner), and entries that fail are pruned.
 *
 * - set writes the record, then the index entry. Had the index come first, a concurrent
 *   listByUser could find the entry before its record, prune it, and leave the new session
 *   unlisted. If the second write fails, set rejects: a new session's cookie is never handed out
 *   (the login answers 503), and a replaced session was indexed already.
 * - delete removes the record, then the entry: an interruption leaves a dangling entry only.
 * - update rewrites the record only, in one script that first checks it is still there, owned by
 *   the same user and live: the index already lists it, and a session deleted meanwhile (its
 *   entry removed or about to be) is not written back. Only a later absolute expiry also
 *   rescores the entry (after the record, like set).
 *
 * - `p live`: a sorted set of every session id scored by min(idle, absolute) expiry, kept for the
 *   active-sessions gauge only (`countLive`): entries past their score are dropped when counting.
 *   Best effort: nothing reads sessions through it, so a lost entry miscounts and nothing more.
 *
 * In a Redis Cluster the two keys live in different slots and are written one after the other;
 * elsewhere both writes of set share one MULTI. Both paths rely on the same order.
 */

/** The keys of the Redis session store under one prefix (the layout above). */
export interface RedisSessionKeys {
  /** `p s:<id>`: the session's hash. */
  session(id: string): string;
  /** `p u:<userId>`: the user's index of session ids. */
  user(userId: string): string;
  /** `p live`: every session id, for the active-sessions gauge only. */
  readonly live: string;
}

/** The key names under `prefix` (the configured `redis.keyPrefix`). */
export function redisSessionKeys(prefix: string): RedisSessionKeys {
  return {
    session: (id) => `${prefix}s:${id}`,
    user: (userId) => `${prefix}u:${userId}`,
    live: `${prefix}live`,
  };
}
