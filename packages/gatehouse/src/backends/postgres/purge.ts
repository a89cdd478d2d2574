import type { PostgresDatabase } from './pool.js';

/** Rows per purge statement: each batch is its own short transaction, so no lock is held for long. */
export const PURGE_BATCH = 500;

/**
 * Deletes expired rows of one table in batches of {@link PURGE_BATCH}, until a batch comes back
 * short. `SKIP LOCKED` lets several instances purge at once without queueing behind each other or
 * behind a request that is updating a row. Returns how many rows were deleted.
 *
 * @param expiry the SQL expression that is a row's expiry (its index makes the scan cheap).
 */
export async function purgeTable(db: PostgresDatabase, table: string, key: string, expiry: string, now: number): Promise<number> {
  const t = db.table(table);
  let total = 0;
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM ${t} WHERE ${key} IN
         (SELECT ${key} FROM ${t} WHERE ${expiry} <= $1 LIMIT ${PURGE_BATCH} FOR UPDATE SKIP LOCKED)`,
      [now],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < PURGE_BATCH) return total;
  }
}

/**
 * Runs `purge` every `intervalMs` on an unref'd timer (housekeeping never keeps the process
 * alive), never two at once, reporting failures to `onError` since a timer has no caller to throw
 * to. Returns the function that stops it.
 */
export function schedulePurge(purge: () => Promise<unknown>, intervalMs: number, onError?: (error: unknown) => void): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    purge()
      .catch((error: unknown) => onError?.(error))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
