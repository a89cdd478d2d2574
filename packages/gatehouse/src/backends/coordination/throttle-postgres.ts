import { MAX_LOCKOUTS, stepFailure } from './throttle-step.js';
import type { FailureOutcome, FailureRule } from './throttle-types.js';

/**
 * One failure as one statement: `INSERT … ON CONFLICT DO UPDATE`, which PostgreSQL runs with the
 * row locked from the read of the old entry to the write of the new one, so concurrent failures on
 * one key (from any number of pools) queue on that row and each sees the one before it.
 *
 * The new key's entry (no row yet) is `stepFailure` of nothing, computed here and inserted; an
 * existing row is stepped in SQL, `stepFailure` line for line (`c`: the entry with its lock
 * doubling and window reset; `n`: after the count and any lock). An expired row counts as absent
 * (it gets the new key's entry). A locked row is left as is: the WHERE is false, nothing is
 * returned, and the failure is `refused`.
 *
 * Parameters: $1 key, $2 new-key entry, $3 its expiry, $4 now, $5 window, $6 limit, $7 lockout,
 * $8 maxLockout, $9 MAX_LOCKOUTS, $10 the backend clock's now (judges expiry, as `get` does).
 */
export function recordFailureStatement(table: string): string {
  return `
INSERT INTO ${table} AS t (key, entry, expires_at) VALUES ($1, $2::jsonb, $3)
ON CONFLICT (key) DO UPDATE SET (entry, expires_at) = (
  SELECT
    CASE WHEN t.expires_at <= $10::bigint THEN excluded.entry
      ELSE jsonb_build_object('failures', n.failures, 'windowStart', n.window_start, 'lockouts', n.lockouts, 'lockedUntil', n.locked_until) END,
    CASE WHEN t.expires_at <= $10::bigint THEN excluded.expires_at
      ELSE GREATEST(n.locked_until + $5::bigint, CASE WHEN n.failures > 0 THEN n.window_start + $5::bigint ELSE 0 END) END
  FROM (
    SELECT
      CASE WHEN c.locks THEN 0 ELSE c.failures END AS failures,
      c.window_start,
      CASE WHEN c.locks THEN LEAST(c.lockouts + 1, $9::bigint) ELSE c.lockouts END AS lockouts,
      CASE WHEN c.locks THEN $4::bigint + LEAST($7::numeric * power(2::numeric, c.lockouts), $8::numeric)::bigint ELSE c.locked_until END AS locked_until
    FROM (
      SELECT
        o.failures + 1 AS failures,
        o.window_start,
        o.lockouts,
        o.locked_until,
        o.failures + 1 >= $6::bigint AS locks
      FROM (
        SELECT
          CASE WHEN e.failures = 0 OR $4::bigint - e.window_start >= $5::bigint THEN 0 ELSE e.failures END AS failures,
          CASE WHEN e.failures = 0 OR $4::bigint - e.window_start >= $5::bigint THEN $4::bigint ELSE e.window_start END AS window_start,
          CASE WHEN e.lockouts > 0 AND $4::bigint >= e.locked_until + $5::bigint THEN 0 ELSE e.lockouts END AS lockouts,
          e.locked_until
        FROM (
          SELECT
            (t.entry->>'failures')::bigint AS failures,
            (t.entry->>'windowStart')::bigint AS window_start,
            (t.entry->>'lockouts')::bigint AS lockouts,
            (t.entry->>'lockedUntil')::bigint AS locked_until
        ) e
      ) o
    ) c
  ) n
)
WHERE t.expires_at <= $10::bigint OR (t.entry->>'lockedUntil')::bigint <= $4::bigint
RETURNING (entry->>'lockedUntil')::bigint > $4::bigint AS locked`;
}

/** The statement's parameters for one failure at `key`. */
export function recordFailureValues(key: string, rule: FailureRule, clockNow: number): unknown[] {
  // A new key's first failure cannot be refused: stepFailure of nothing always steps.
  const fresh = stepFailure(undefined, rule) as NonNullable<ReturnType<typeof stepFailure>>;
  return [key, JSON.stringify(fresh.entry), fresh.expiresAt, rule.now, rule.window, rule.limit, rule.lockout, rule.maxLockout, MAX_LOCKOUTS, clockNow];
}

/**
 * The outcome from the rows returned: none means the row was locked (refused). After a counted
 * failure the lock is still in the past (it was, or the failure would be refused), so a lock in
 * the future means this failure set it.
 */
export function toOutcome(rows: readonly { locked: boolean }[]): FailureOutcome {
  const row = rows[0];
  if (!row) return 'refused';
  return row.locked ? 'locked' : 'counted';
}
