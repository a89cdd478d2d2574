/**
 * Reference counting for a connection several owners use (the session store and the
 * coordination state share one Redis connection or PostgreSQL pool): each owner takes a share and
 * releases it once; the last release closes the connection.
 *
 * @returns `retain`: takes a share and returns its release function (idempotent).
 */
export function sharedClose(close: () => Promise<void>): () => () => Promise<void> {
  let shares = 0;
  return () => {
    shares++;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      if (--shares === 0) await close();
    };
  };
}
