/**
 * The one answer to "is this path under that prefix", for the config checks, the route classes,
 * the static and SPA fallback, the dev server and the proxy. In `util/` (the lowest layer) so the
 * config checks can import it as well as `http/` and the features.
 *
 * The rule, segment-wise on the path as given (no decoding, no normalisation):
 * - `prefix` "/" covers every path that starts with "/".
 * - `/api` covers `/api` and `/api/…`, never `/apix` (a prefix ends at a segment boundary).
 * - A trailing slash on the prefix is ignored: `/api/` is `/api`. Config refuses such prefixes
 *   for routes and mounts; ignoring it is the wider reading, so a stray slash cannot make a
 *   reserved check miss `/api` itself.
 * Callers pass the path without the query (see {@link pathOfTarget}).
 */

/** The path of a request target (`request.raw.url`): everything before the first "?". */
export function pathOfTarget(rawUrl: string): string {
  return rawUrl.split('?', 1)[0] ?? '';
}

/**
 * What follows `prefix` in `path` ("" for the prefix itself, else "/…"), or `null` when `path`
 * is not under `prefix` by the rule above. The proxy appends this to the upstream's base path.
 */
export function pathAfterPrefix(path: string, prefix: string): string | null {
  const base = prefix.replace(/\/+$/, '');
  if (path === base) return '';
  return path.startsWith(`${base}/`) ? path.slice(base.length) : null;
}

/** Whether `path` is `prefix` or below it, by the raw, segment-wise rule above. */
export function isUnderPrefix(path: string, prefix: string): boolean {
  return pathAfterPrefix(path, prefix) !== null;
}

export interface UnderAnyPrefixOptions {
  /**
   * Also test the path once percent-decoded (`decodeURIComponent`, once). For reserved checks,
   * where a router that decodes (`find-my-way` does) would read `/%61uth/x` as `/auth/x`: such a
   * spelling must not slip past as "not reserved". A path that does not decode (a malformed
   * escape such as `/%zz` or overlong UTF-8) counts as under every prefix: the check fails closed
   * (OWASP ASVS 5.0 V1.1.1: canonicalise once before deciding, refuse what cannot be).
   */
  alsoDecoded?: boolean;
}

/** Whether `path` is under any of `prefixes` ({@link isUnderPrefix}), optionally also decoded. */
export function isUnderAnyPrefix(path: string, prefixes: readonly string[], options: UnderAnyPrefixOptions = {}): boolean {
  if (prefixes.some((prefix) => isUnderPrefix(path, prefix))) return true;
  if (!options.alsoDecoded || prefixes.length === 0 || !path.includes('%')) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return true;
  }
  return prefixes.some((prefix) => isUnderPrefix(decoded, prefix));
}
